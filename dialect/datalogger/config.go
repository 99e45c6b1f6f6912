package datalogger

import (
	"fmt"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
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
	// Devices limits the records to these devices; default every device.
	Devices []string `yaml:"devices"`
	// RemoteConfig applies a whole config arriving on d/config.
	RemoteConfig bool `yaml:"remote_config"`
	// Commands are the d/command names answered; default all.
	Commands []string `yaml:"commands"`
}

// Defaults.
const (
	DefaultReadInterval = 60 * time.Second
	minReadInterval     = time.Second
)

// AllCommands are the d/command names gridbox answers.
func AllCommands() []string {
	return []string{"ping", "read_now", "reload", "snap_refresh", "sys_reboot"}
}

// Validate reports problems with paths relative to the section.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(p, format string, args ...any) { errs = append(errs, config.Errf(p, format, args...)) }
	if d := c.ReadInterval.D(); d != 0 && (d < minReadInterval || d > 24*time.Hour) {
		add("read_interval", "%s: want 1s..24h", d)
	}
	if c.MaxAge.D() < 0 {
		add("max_age", "%s: must not be negative", c.MaxAge.D())
	}
	for dev, vid := range c.VendorIDs {
		if !model.ValidID(dev) {
			add("vendor_ids."+dev, "%q: want a device id", dev)
		}
		if strings.TrimSpace(vid) == "" {
			add("vendor_ids."+dev, "empty: the datalogger's _vid is required")
		}
	}
	for k, v := range c.FieldNames {
		if v == "" || strings.HasPrefix(v, "_") {
			add("field_names."+k, "%q: want a field key not starting with _ (reserved for _d, _vid, _s)", v)
		}
	}
	for i, dev := range c.Devices {
		if !model.ValidID(dev) {
			add(fmt.Sprintf("devices[%d]", i), "%q: want a device id", dev)
		}
	}
	for i, cmd := range c.Commands {
		if !config.OneOf(cmd, AllCommands()...) {
			add(fmt.Sprintf("commands[%d]", i), "%q: want one of %s", cmd, strings.Join(AllCommands(), ", "))
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
