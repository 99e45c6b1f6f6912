package keba

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gridbox/gridbox/model"
)

// point is one datapoint of the station: the report and JSON key it is
// read from and the factor from the station's unit to the datapoint's.
type point struct {
	name   string
	report int    // 1, 2 or 3; 0: write-only
	key    string // JSON key in the report
	scale  float64
	meta   model.Meta
}

func f(v float64) *float64 { return &v }

// points are the station's datapoints, in report order.
var points = []point{
	{name: "product", report: 1, key: "Product", meta: model.Meta{Kind: model.Sensor, Format: model.GenericText, Description: "Product code"}},
	{name: "serial", report: 1, key: "Serial", meta: model.Meta{Kind: model.Sensor, Format: model.GenericText, Description: "Serial number"}},
	{name: "firmware", report: 1, key: "Firmware", meta: model.Meta{Kind: model.Sensor, Format: model.GenericText, Description: "Firmware version"}},
	{name: "state", report: 2, key: "State", scale: 1, meta: model.Meta{Kind: model.Sensor, Format: model.DiscreteNumeric, Allowed: []any{0.0, 1.0, 2.0, 3.0, 4.0, 5.0},
		Description: "0 starting, 1 not ready, 2 ready, 3 charging, 4 error, 5 interrupted"}},
	{name: "plug", report: 2, key: "Plug", scale: 1, meta: model.Meta{Kind: model.Sensor, Format: model.GenericNumeric, Description: "Plug state (bits: 1 station, 2 locked, 4 car)"}},
	{name: "enabled", report: 2, key: "Enable sys", scale: 1, meta: model.Meta{Kind: model.Actuator, Format: model.Bool, Description: "Charging enabled (ena 0|1)"}},
	{name: "max_current", report: 2, key: "Max curr", scale: 0.001, meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "A", Min: f(6), Max: f(63),
		Description: "Charging current limit (curr, in mA on the wire)"}},
	{name: "hw_current", report: 2, key: "Curr HW", scale: 0.001, meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "A", Description: "Current limit of the installation"}},
	{name: "energy_limit", report: 2, key: "Setenergy", scale: 0.1, meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "Wh", Min: f(0), Max: f(9999999),
		Description: "Energy limit of the session, 0 = none (setenergy, 0.1 Wh on the wire)"}},
	{name: "voltage_l1", report: 3, key: "U1", scale: 1, meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "V"}},
	{name: "voltage_l2", report: 3, key: "U2", scale: 1, meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "V"}},
	{name: "voltage_l3", report: 3, key: "U3", scale: 1, meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "V"}},
	{name: "current_l1", report: 3, key: "I1", scale: 0.001, meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "A"}},
	{name: "current_l2", report: 3, key: "I2", scale: 0.001, meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "A"}},
	{name: "current_l3", report: 3, key: "I3", scale: 0.001, meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "A"}},
	{name: "power", report: 3, key: "P", scale: 0.001, meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W", Role: "ev_power",
		Description: "Charging power (mW on the wire)"}},
	{name: "energy_session", report: 3, key: "E pres", scale: 0.1, meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "Wh", Description: "Energy of the session"}},
	{name: "energy_total", report: 3, key: "E total", scale: 0.1, meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "Wh", Description: "Energy meter"}},
	{name: "display", meta: model.Meta{Kind: model.Actuator, Format: model.GenericText, Description: "Text shown on the display (write only)"}},
}

func findPoint(name string) (*point, bool) {
	for i := range points {
		if points[i].name == name {
			return &points[i], true
		}
	}
	return nil, false
}

// decode converts a report field into the datapoint's value.
func (p *point) decode(raw any) (any, error) {
	if p.meta.Format == model.GenericText {
		switch x := raw.(type) {
		case string:
			return x, nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return nil, fmt.Errorf("%s: %q is %T, want text", p.name, p.key, raw)
	}
	n, ok := raw.(float64)
	if !ok || math.IsInf(n, 0) || math.IsNaN(n) {
		return nil, fmt.Errorf("%s: %q is %T, want a number", p.name, p.key, raw)
	}
	if p.meta.Format == model.Bool {
		return n != 0, nil
	}
	return n * p.scale, nil
}

// command returns the station's command for a validated write.
func (p *point) command(v any) (string, error) {
	switch p.name {
	case "enabled":
		if b, ok := v.(bool); ok {
			return map[bool]string{true: "ena 1", false: "ena 0"}[b], nil
		}
	case "max_current":
		if a, ok := model.AsFloat(v); ok {
			return fmt.Sprintf("curr %d", int64(math.Round(a*1000))), nil
		}
	case "energy_limit":
		if wh, ok := model.AsFloat(v); ok {
			return fmt.Sprintf("setenergy %d", int64(math.Round(wh*10))), nil
		}
	case "display":
		if s, ok := v.(string); ok {
			return "display 0 0 0 0 " + displayText(s), nil
		}
	}
	return "", fmt.Errorf("%s: %v (%T) cannot be written", p.name, v, v)
}

// displayText keeps what the display shows: 23 printable ASCII characters,
// spaces as '$' (the station's convention).
func displayText(s string) string {
	out := make([]byte, 0, 23)
	for i := 0; i < len(s) && len(out) < 23; i++ {
		c := s[i]
		switch {
		case c == ' ':
			out = append(out, '$')
		case c > ' ' && c < 0x7f:
			out = append(out, c)
		}
	}
	return string(out)
}
