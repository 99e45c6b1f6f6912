// Package record builds the edge datalogger's u/data payloads (Unix
// seconds, `_d`, `_vid`, `_s` status items) and its u/meta/* texts from
// gridbox's values and device states. The datalogger dialect publishes
// them on the gateway's broker, the uplink (`format: datalogger`) sends
// them to the back end from its disk queue; both use this package.
package record

import (
	"fmt"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Options are the keys shaping the payloads (the dialect's keys of the
// same names, and the uplink's `datalogger:` section).
type Options struct {
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
	// "<device>/<datapoint>" → field key).
	FieldNames map[string]string `yaml:"field_names"`
	// Fields limits a device's record to these datapoints; a device left
	// out sends all of its datapoints.
	Fields map[string][]string `yaml:"fields"`
	// Devices limits the records to these devices; default every device.
	Devices []string `yaml:"devices"`
}

// Defaults.
const (
	DefaultReadInterval = 60 * time.Second
	minReadInterval     = time.Second
)

// Validate reports problems with paths relative to the section.
func (o *Options) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(p, format string, args ...any) { errs = append(errs, config.Errf(p, format, args...)) }
	if d := o.ReadInterval.D(); d != 0 && (d < minReadInterval || d > 24*time.Hour) {
		add("read_interval", "%s: want 1s..24h", d)
	}
	if o.MaxAge.D() < 0 {
		add("max_age", "%s: must not be negative", o.MaxAge.D())
	}
	for dev, vid := range o.VendorIDs {
		if !model.ValidID(dev) {
			add("vendor_ids."+dev, "%q: want a device id", dev)
		}
		if strings.TrimSpace(vid) == "" {
			add("vendor_ids."+dev, "empty: the datalogger's _vid is required")
		}
	}
	for k, v := range o.FieldNames {
		if v == "" || strings.HasPrefix(v, "_") {
			add("field_names."+k, "%q: want a field key not starting with _ (reserved for _d, _vid, _s)", v)
		}
	}
	for dev, names := range o.Fields {
		if !model.ValidID(dev) {
			add("fields."+dev, "%q: want a device id", dev)
		}
		for i, n := range names {
			if !model.ValidID(n) {
				add(fmt.Sprintf("fields.%s[%d]", dev, i), "%q: want a datapoint name", n)
			}
		}
	}
	for i, dev := range o.Devices {
		if !model.ValidID(dev) {
			add(fmt.Sprintf("devices[%d]", i), "%q: want a device id", dev)
		}
	}
	return errs
}

// WithDefaults fills in what was left out.
func (o Options) WithDefaults() Options {
	if o.ReadInterval == 0 {
		o.ReadInterval = config.Duration(DefaultReadInterval)
	}
	if o.MaxAge == 0 {
		o.MaxAge = o.ReadInterval
	}
	return o
}

// CycleStart is t of a cycle that begins at now.
func (o Options) CycleStart(now time.Time) time.Time {
	if o.ReadRoundtime {
		return now.Add(time.Second / 2).Truncate(o.ReadInterval.D())
	}
	return now
}

// NextCycle is when the cycle after now begins.
func (o Options) NextCycle(now time.Time) time.Time {
	every := o.ReadInterval.D()
	if o.ReadRoundtime {
		return now.Add(time.Second / 2).Truncate(every).Add(every)
	}
	return now.Add(every)
}
