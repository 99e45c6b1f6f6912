package datalogger

import (
	"fmt"
	"strings"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/dialect/datalogger/record"
)

// Config is the `dialects: datalogger:` section.
type Config struct {
	// ReadInterval is the cycle of u/data messages (the datalogger's
	// read_interval); default 60s.
	ReadInterval config.Duration `yaml:"read_interval"`
	// ReadRoundtime aligns t (and the cycle) to multiples of ReadInterval.
	ReadRoundtime bool `yaml:"read_roundtime"`
	// MaxAge is how old a value may be to go into a cycle's record;
	// default the read interval.
	MaxAge config.Duration `yaml:"max_age"`
	// VendorIDs gives each device's `_vid`; default the device id.
	VendorIDs map[string]string `yaml:"vendor_ids"`
	// FieldNames renames datapoints in the records ("<datapoint>" or
	// "<device>/<datapoint>" → field key, like p_total: P_total), for a back
	// end that knows the datalogger driver's original field keys.
	FieldNames map[string]string `yaml:"field_names"`
	// Fields limits a device's record to these datapoints (<device>:
	// [datapoint, …]); a device left out sends all of its datapoints. A
	// datalogger config's readings set it.
	Fields map[string][]string `yaml:"fields"`
	// Devices limits the records to these devices; default every device.
	Devices []string `yaml:"devices"`
	// RemoteConfig applies a whole config arriving on d/config.
	RemoteConfig bool `yaml:"remote_config"`
	// Commands are the d/command names answered; default all.
	Commands []string `yaml:"commands"`

	// DataDir is where a datalogger-format d/config keeps its driver files
	// and the last applied config (the gateway's data directory).
	DataDir string `yaml:"-"`
}

// DefaultReadInterval is the cycle of u/data messages.
const DefaultReadInterval = record.DefaultReadInterval

// AllCommands are the d/command names gridbox answers.
func AllCommands() []string {
	return []string{"ping", "read_now", "reload", "snap_refresh", "sys_reboot"}
}

// options are the keys the payloads are built with (package record).
func (c Config) options() record.Options {
	return record.Options{ReadInterval: c.ReadInterval, ReadRoundtime: c.ReadRoundtime, MaxAge: c.MaxAge,
		VendorIDs: c.VendorIDs, FieldNames: c.FieldNames, Fields: c.Fields, Devices: c.Devices}
}

// Validate reports problems with paths relative to the section.
func (c *Config) Validate() []config.FieldError {
	opts := c.options()
	errs := opts.Validate()
	for i, cmd := range c.Commands {
		if !config.OneOf(cmd, AllCommands()...) {
			errs = append(errs, config.Errf(fmt.Sprintf("commands[%d]", i), "%q: want one of %s", cmd, strings.Join(AllCommands(), ", ")))
		}
	}
	return errs
}

// withDefaults fills in what was left out.
func (c Config) withDefaults() Config {
	if c.ReadInterval == 0 {
		c.ReadInterval = config.Duration(DefaultReadInterval)
	}
	if c.MaxAge == 0 {
		c.MaxAge = c.ReadInterval
	}
	if c.Commands == nil {
		c.Commands = AllCommands()
	}
	return c
}
