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
// device's default unit id and its power sign convention.
type Profile struct {
	Name        string     `yaml:"name"`
	Driver      string     `yaml:"driver"`      // must be modbus
	Description string     `yaml:"description"` // what device this is
	Sign        string     `yaml:"sign"`        // documents the power sign convention
	Unit        *int       `yaml:"unit"`        // default unit id (optional)
	Registers   []Register `yaml:"registers"`

	fields []*field
}

// ParseProfile decodes a profile strictly (unknown keys are errors naming
// key and line) and checks its registers like inline ones. source names the
// file in errors.
func ParseProfile(data []byte, source string) (*Profile, error) {
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
	fields, rerrs := compileRegisters(p.Registers, "registers")
	errs = append(errs, rerrs...)
	if len(errs) > 0 {
		locate(data, source, errs)
		return nil, errs
	}
	p.fields = fields
	return &p, nil
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

// Datapoints lists the profile's datapoints (without device).
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
