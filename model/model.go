// Package model holds gridbox's vocabulary: devices, datapoints and values.
// It depends on nothing else in the project: dependencies point inward
// (docs/architecture.md).
package model

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// Kind says whether a datapoint is read (sensor) or written (actuator).
type Kind string

const (
	Sensor   Kind = "sensor"
	Actuator Kind = "actuator"
)

// Format is the value format of a datapoint, as in the building-energy framework.
type Format string

const (
	ContinuousNumeric Format = "continuous_numeric"
	DiscreteNumeric   Format = "discrete_numeric"
	GenericNumeric    Format = "generic_numeric"
	DiscreteText      Format = "discrete_text"
	GenericText       Format = "generic_text"
	Bool              Format = "bool"
)

// Formats lists every valid Format.
func Formats() []Format {
	return []Format{ContinuousNumeric, DiscreteNumeric, GenericNumeric, DiscreteText, GenericText, Bool}
}

// Valid reports whether f is one of the known formats.
func (f Format) Valid() bool {
	for _, g := range Formats() {
		if f == g {
			return true
		}
	}
	return false
}

// Numeric reports whether values of this format are numbers.
func (f Format) Numeric() bool {
	return f == ContinuousNumeric || f == DiscreteNumeric || f == GenericNumeric
}

// Quality tells how far a value can be trusted.
type Quality string

const (
	Good  Quality = "good"  // read from the device
	Stale Quality = "stale" // the device did not answer within its timeout
	Bad   Quality = "bad"   // decode or range error
)

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// ValidID reports whether s is a valid device id or datapoint name (a slug).
func ValidID(s string) bool { return slugRE.MatchString(s) }

// Datapoint is one named value of a device with its metadata.
type Datapoint struct {
	Device string `json:"device"`
	Name   string `json:"name"`
	Meta
}

// Meta is what describes a datapoint's values. It is the one list of
// metadata fields: drivers read it from their configs (yaml), MQTT publishes
// it as $meta (json, empty fields left out) and the API lists every field
// (MetaFields), so a field added here reaches every wire format.
type Meta struct {
	Kind        Kind     `json:"kind" yaml:"kind,omitempty"`     // sensor or actuator
	Format      Format   `json:"format" yaml:"format,omitempty"` // see Formats
	Unit        string   `json:"unit,omitempty" yaml:"unit,omitempty"`
	Min         *float64 `json:"min,omitempty" yaml:"min,omitempty"` // continuous: lowest value a write may set
	Max         *float64 `json:"max,omitempty" yaml:"max,omitempty"`
	Allowed     []any    `json:"allowed,omitempty" yaml:"allowed,omitempty"` // discrete: the values a write may set
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	Role        string   `json:"role,omitempty" yaml:"role,omitempty"` // for controllers: grid_power, pv_power, …
	// Protect and Watchdog make writes safer (safe.go, docs/writes.md).
	Protect  Protect   `json:"protect,omitempty" yaml:"protect,omitempty"`
	Watchdog *Watchdog `json:"watchdog,omitempty" yaml:"watchdog,omitempty"`
	// MetricKind says how values aggregate over time windows (metric.go).
	MetricKind string `json:"metric_kind,omitempty" yaml:"metric_kind,omitempty"`
}

// MetaField is one metadata field by its JSON key.
type MetaField struct {
	Key   string
	Value any // nil for an unset pointer or slice
}

// MetaFields lists every metadata field of m in declaration order, set or
// not, for wire formats that always show every key.
func (m Meta) MetaFields() []MetaField {
	v := reflect.ValueOf(m)
	t := v.Type()
	out := make([]MetaField, t.NumField())
	for i := range out {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		f := v.Field(i)
		var val any
		if (f.Kind() != reflect.Pointer && f.Kind() != reflect.Slice) || !f.IsNil() {
			val = f.Interface()
		}
		out[i] = MetaField{Key: key, Value: val}
	}
	return out
}

// Key is the datapoint's address "<device>/<name>".
func (d *Datapoint) Key() string { return Key(d.Device, d.Name) }

// Key joins a device id and a datapoint name into an address.
func Key(device, name string) string { return device + "/" + name }

// Value is one reading of a datapoint. Numbers are float64; nil means the
// device reported "not available".
type Value struct {
	Device  string  `json:"device"`
	Name    string  `json:"name"`
	Value   any     `json:"value"`
	Time    int64   `json:"timestamp"` // ms since the Unix epoch, UTC
	Quality Quality `json:"quality"`
}

// Key is the value's datapoint address.
func (v *Value) Key() string { return Key(v.Device, v.Name) }

// NowMs returns the current time in Unix milliseconds.
func NowMs() int64 { return time.Now().UnixMilli() }

// DeviceState is what the gateway knows about a device's connection.
type DeviceState struct {
	Device   string `json:"device"`
	Driver   string `json:"driver"`
	Online   bool   `json:"online"`
	LastSeen int64  `json:"last_seen,omitempty"` // ms; 0 = never
	Error    string `json:"error,omitempty"`
	Polls    uint64 `json:"polls"`
	Errors   uint64 `json:"errors"`
}

// CheckMeta reports the first inconsistency in a datapoint's metadata.
func (d *Datapoint) CheckMeta() error {
	switch {
	case !ValidID(d.Name):
		return fmt.Errorf("name %q is not a slug ([a-z0-9][a-z0-9_-]*)", d.Name)
	case d.Kind != Sensor && d.Kind != Actuator:
		return fmt.Errorf("kind %q: want sensor or actuator", d.Kind)
	case !d.Format.Valid():
		return fmt.Errorf("format %q: want one of %v", d.Format, Formats())
	case d.Min != nil && d.Max != nil && *d.Min > *d.Max:
		return fmt.Errorf("min %v is above max %v", *d.Min, *d.Max)
	case (d.Min != nil || d.Max != nil) && !d.Format.Numeric():
		return fmt.Errorf("min/max given for non-numeric format %s", d.Format)
	}
	if err := d.checkMetricKind(); err != nil {
		return err
	}
	return d.checkSafe()
}
