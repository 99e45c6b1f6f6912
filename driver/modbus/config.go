package modbus

import (
	"errors"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
)

// Config is the configuration of one Modbus device (`driver: modbus`).
// NewConfig fills in the defaults before the YAML is decoded over it.
type Config struct {
	config.DeviceCommon `yaml:",inline"`

	URL          string          `yaml:"url" doc:"tcp://host:port, rtu:///dev/ttyUSB0?baud=9600, rtuovertcp://host:port" required:"true"`
	Unit         *int            `yaml:"unit" doc:"unit id; nil: the profile's, else 1"`
	Profile      string          `yaml:"profile" doc:"built-in profile name or file path"`
	Registers    []Register      `yaml:"registers" doc:"inline registers, added to / replacing the profile's by name"`
	Interval     config.Duration `yaml:"interval" doc:"poll interval"`
	Timeout      config.Duration `yaml:"timeout" doc:"per request"`
	Retries      int             `yaml:"retries" doc:"retries of a failed request"`
	Backoff      config.Duration `yaml:"backoff" doc:"first retry delay, doubling, capped at interval"`
	Pause        config.Duration `yaml:"pause" doc:"pause between two requests on the connection"`
	ConnectDelay config.Duration `yaml:"connect_delay" doc:"wait after connecting before the first request"`
	Disconnect   bool            `yaml:"disconnect" doc:"close the connection after each poll"`
	MaxGap       int             `yaml:"max_gap" doc:"unused registers a merged read may skip"`
	MaxRegisters int             `yaml:"max_registers" doc:"registers per read, ≤ 125"`
	MinWriteGap  config.Duration `yaml:"write_gap" doc:"minimum time between two writes to one datapoint"`
	Overrides    Overrides       `yaml:"overrides" doc:"protect / watchdog by datapoint name (overrides.go)"`
}

// Defaults of the optional keys.
const (
	DefaultInterval     = 5 * time.Second
	DefaultTimeout      = time.Second
	DefaultRetries      = 2
	DefaultBackoff      = 500 * time.Millisecond
	DefaultMaxGap       = 10
	DefaultMaxRegisters = maxRegisters
	DefaultWriteGap     = time.Second
)

// NewConfig returns a Config with every default filled in.
func NewConfig() *Config {
	return &Config{
		Interval:     config.Duration(DefaultInterval),
		Timeout:      config.Duration(DefaultTimeout),
		Retries:      DefaultRetries,
		Backoff:      config.Duration(DefaultBackoff),
		MaxGap:       DefaultMaxGap,
		MaxRegisters: DefaultMaxRegisters,
		MinWriteGap:  config.Duration(DefaultWriteGap),
	}
}

// WriteGap is the minimum time between two writes to one datapoint (flash
// wear); the bus enforces it.
func (c *Config) WriteGap() time.Duration { return c.MinWriteGap.D() }

// Validate reports every problem of the config, with key paths relative to
// the device (like "registers[3].type"). Profile registers are checked in New.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if c.URL == "" {
		add("url", "missing (like tcp://192.168.1.10:502)")
	} else if t, err := parseURL(c.URL); err != nil {
		add("url", "%v", err)
	} else if t.unit >= 0 {
		add("url", "set the unit id with the unit key, not in the URL")
	}
	if c.Unit != nil && (*c.Unit < 0 || *c.Unit > 247) {
		add("unit", "%d is out of 0..247", *c.Unit)
	}
	if c.Profile == "" && len(c.Registers) == 0 {
		add("registers", "no registers: set profile or registers")
	}
	errs = append(errs, c.validateTiming()...)
	_, rerrs := compileRegisters(c.Registers, "registers")
	return append(errs, rerrs...)
}

func (c *Config) validateTiming() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	for _, d := range []struct {
		key  string
		v    config.Duration
		zero bool // 0 is a valid value (no pause, no gap, no backoff)
	}{
		{"interval", c.Interval, false},
		{"timeout", c.Timeout, false},
		{"backoff", c.Backoff, true},
		{"pause", c.Pause, true},
		{"connect_delay", c.ConnectDelay, true},
		{"write_gap", c.MinWriteGap, true},
	} {
		switch {
		case d.v < 0 && d.zero:
			add(d.key, "%s: must not be negative", d.v.D())
		case d.v <= 0 && !d.zero:
			add(d.key, "%s: must be positive", d.v.D())
		}
	}
	if c.Retries < 0 || c.Retries > 10 {
		add("retries", "%d is out of 0..10", c.Retries)
	}
	if c.MaxGap < 0 || c.MaxGap > maxRegisters {
		add("max_gap", "%d is out of 0..%d", c.MaxGap, maxRegisters)
	}
	if c.MaxRegisters < 1 || c.MaxRegisters > maxRegisters {
		add("max_registers", "%d is out of 1..%d", c.MaxRegisters, maxRegisters)
	}
	return errs
}

// CheckProfile loads and parses the profile named by the profile key, if
// any, and reports what is wrong with it under the key path "profile". The
// gateway calls it for a device whose other keys have errors, so that a bad
// profile is reported in the same run.
func (c *Config) CheckProfile(src driver.ProfileSource) []config.FieldError {
	_, errs := c.loadProfile(src)
	return errs
}

// loadProfile returns the profile named by the profile key (nil without
// one). Every problem has the key path "profile" and is said once: the
// source's errors name the profile already, the profile's own errors name
// its file and line.
func (c *Config) loadProfile(src driver.ProfileSource) (*Profile, []config.FieldError) {
	if c.Profile == "" {
		return nil, nil
	}
	if src == nil {
		return nil, []config.FieldError{config.Errf("profile", "profile %q: no profile source", c.Profile)}
	}
	data, source, err := src.Load(c.Profile)
	if err != nil {
		return nil, []config.FieldError{config.Errf("profile", "%v", err)}
	}
	p, err := ParseProfile(data, source)
	var perrs config.Errors
	switch {
	case errors.As(err, &perrs):
		errs := make([]config.FieldError, len(perrs))
		for i, e := range perrs {
			errs[i] = config.Errf("profile", "%s", e.Error())
		}
		return nil, errs
	case err != nil:
		return nil, []config.FieldError{config.Errf("profile", "%v", err)}
	}
	return p, nil
}

// unitID returns the configured unit, else the profile's, else 1.
func (c *Config) unitID(p *Profile) uint8 {
	switch {
	case c.Unit != nil:
		return uint8(*c.Unit)
	case p != nil && p.Unit != nil:
		return uint8(*p.Unit)
	}
	return 1
}

// mergeRegisters returns the profile's registers with the inline ones
// added, an inline register replacing a profile register of the same name.
func mergeRegisters(profile, inline []Register) []Register {
	byName := make(map[string]int, len(inline))
	for i, r := range inline {
		byName[r.Name] = i
	}
	out := make([]Register, 0, len(profile)+len(inline))
	for _, r := range profile {
		if _, replaced := byName[r.Name]; !replaced {
			out = append(out, r)
		}
	}
	return append(out, inline...)
}

// backoff returns the delay before retry n (0-based): backoff doubling,
// capped at the interval.
func (c *Config) backoff(n int) time.Duration {
	d := c.Backoff.D()
	for i := 0; i < n && d < c.Interval.D(); i++ {
		d *= 2
	}
	return min(d, c.Interval.D())
}
