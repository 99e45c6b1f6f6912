package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrNotWritable is returned for a write to a sensor.
var ErrNotWritable = errors.New("datapoint is a sensor, not writable")

// RangeError is a value outside a datapoint's limits.
type RangeError struct{ Msg string }

func (e *RangeError) Error() string { return e.Msg }

// CheckWrite validates a value for a write to d and returns it normalised
// (numbers as float64). It never lets through a value outside d's limits.
func (d *Datapoint) CheckWrite(v any) (any, error) {
	if d.Kind != Actuator {
		return nil, ErrNotWritable
	}
	switch {
	case d.Format.Numeric():
		return d.checkNumber(v)
	case d.Format == Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want a bool, got %s", typeName(v))
		}
		return b, nil
	default:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %s", typeName(v))
		}
		if d.Format == DiscreteText && !d.allows(s) {
			return nil, &RangeError{fmt.Sprintf("%q not in allowed values %v", Short(s), d.Allowed)}
		}
		return s, nil
	}
}

func (d *Datapoint) checkNumber(v any) (any, error) {
	f, ok := AsFloat(v)
	if !ok {
		return nil, fmt.Errorf("want a number, got %s", typeName(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("want a finite number, got %v", f)
	}
	if d.Min != nil && f < *d.Min {
		return nil, &RangeError{fmt.Sprintf("below min %s", fmtNum(*d.Min))}
	}
	if d.Max != nil && f > *d.Max {
		return nil, &RangeError{fmt.Sprintf("above max %s", fmtNum(*d.Max))}
	}
	if d.Format == DiscreteNumeric && len(d.Allowed) > 0 && !d.allows(f) {
		return nil, &RangeError{fmt.Sprintf("%s not in allowed values %v", fmtNum(f), d.Allowed)}
	}
	return f, nil
}

func (d *Datapoint) allows(v any) bool {
	for _, a := range d.Allowed {
		if af, ok := AsFloat(a); ok {
			if vf, ok := v.(float64); ok && af == vf {
				return true
			}
		} else if a == v {
			return true
		}
	}
	return false
}

// AsFloat converts any Go number to float64.
func AsFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	if _, ok := AsFloat(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
