package modbus

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"gopkg.in/yaml.v3"
)

// Profile is a Modbus device profile: a named register map with the
// device's default unit id, its power sign convention, the timing its
// device needs and optional components detected at run time.
type Profile struct {
	Name        string `yaml:"name"`
	Driver      string `yaml:"driver"`      // must be modbus
	Description string `yaml:"description"` // what device this is
	Sign        string `yaml:"sign"`        // documents the power sign convention
	Unit        *int   `yaml:"unit"`        // default unit id (optional)
	// Timeout, Pause and ConnectDelay are the device's quirks: they apply
	// where the device config leaves the key at its default.
	Timeout      config.Duration `yaml:"timeout"`
	Pause        config.Duration `yaml:"pause"`
	ConnectDelay config.Duration `yaml:"connect_delay"`
	Registers    []Register      `yaml:"registers"`
	// Detect lists optional components (detect.go): their registers are
	// polled, and their datapoints added, once a probe register says the
	// component is there.
	Detect []Detect `yaml:"detect"`

	fields []*field
	// forUnit builds the registers for a device unit id; set for foreign
	// files whose datapoint names carry the unit (MODBUS_CONFIG).
	forUnit func(unit uint8) []Register
}

// ParseProfile decodes a profile strictly (unknown keys are errors naming
// key and line) and checks its registers like inline ones. source names the
// file in errors. A JSON file in the edge datalogger's driver format or a
// building framework MODBUS_CONFIG is recognised by its content and
// converted (driver_files.go).
func ParseProfile(data []byte, source string) (*Profile, error) {
	if p, ok, err := parseForeign(data, source); ok {
		return p, err
	}
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty profile", source)
		}
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	var errs config.Errors
	if p.Driver != "modbus" {
		errs = append(errs, config.Errf("driver", "profile is for driver %q, want modbus", p.Driver))
	}
	if p.Unit != nil && (*p.Unit < 0 || *p.Unit > 247) {
		errs = append(errs, config.Errf("unit", "%d is out of 0..247", *p.Unit))
	}
	if len(p.Registers) == 0 {
		errs = append(errs, config.Errf("registers", "profile has no registers"))
	}
	for _, d := range []struct {
		key string
		v   config.Duration
	}{{"timeout", p.Timeout}, {"pause", p.Pause}, {"connect_delay", p.ConnectDelay}} {
		if d.v < 0 {
			errs = append(errs, config.Errf(d.key, "%s: must not be negative", d.v.D()))
		}
	}
	fields, rerrs := compileRegisters(p.Registers, "registers")
	errs = append(errs, rerrs...)
	errs = append(errs, checkDetect(p.Detect, p.Registers)...)
	if len(errs) > 0 {
		locate(data, source, errs)
		return nil, errs
	}
	p.fields = fields
	return &p, nil
}

// registersFor returns the profile's registers for a device of unit id unit.
func (p *Profile) registersFor(unit uint8) []Register {
	if p.forUnit != nil {
		return p.forUnit(unit)
	}
	return p.Registers
}

// locate fills in file and line of profile errors.
func locate(data []byte, source string, errs config.Errors) {
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	for i := range errs {
		errs[i].File = source
		if len(root.Content) > 0 {
			errs[i].Line = config.Locate(root.Content[0], errs[i].Path)
		}
	}
}

// Datapoints lists the profile's static datapoints (without device);
// those of detected components are in DetectDatapoints.
func (p *Profile) Datapoints() []model.Datapoint {
	fields := p.fields
	if fields == nil { // a Profile not made by ParseProfile
		fields, _ = compileRegisters(p.Registers, "registers")
	}
	out := make([]model.Datapoint, 0, len(fields))
	for _, f := range fields {
		out = append(out, f.datapoint())
	}
	return out
}

// withQuirks returns a copy of c with the profile's timeout, pause and
// connect delay where c leaves them at their defaults.
func (c *Config) withQuirks(p *Profile) *Config {
	eff := *c
	if p == nil {
		return &eff
	}
	if p.Timeout > 0 && eff.Timeout == config.Duration(DefaultTimeout) {
		eff.Timeout = p.Timeout
	}
	if p.Pause > 0 && eff.Pause == 0 {
		eff.Pause = p.Pause
	}
	if p.ConnectDelay > 0 && eff.ConnectDelay == 0 {
		eff.ConnectDelay = p.ConnectDelay
	}
	return &eff
}

// deviceRegisters compiles a device's static registers (the profile's for
// its unit id, with the inline ones added or replacing them by name) and
// the profile's detectable components.
func deviceRegisters(c *Config, p *Profile, unit uint8) ([]*field, []*group, []config.FieldError) {
	regs := c.Registers
	var detect []Detect
	if p != nil {
		regs = mergeRegisters(p.registersFor(unit), c.Registers)
		detect = p.Detect
	}
	fields, errs := compileRegisters(regs, "registers")
	inline := make(map[string]bool, len(c.Registers))
	for _, r := range c.Registers {
		inline[r.Name] = true
	}
	groups, gerrs := compileGroups(detect, inline)
	if len(errs) == 0 {
		errs = applyOverrides(fields, c.Overrides)
	}
	return fields, groups, append(errs, gerrs...)
}
