// Package control turns setpoints and schedules into actuator values: each
// controlled actuator is paired with the sensor that judges flexibility, and
// the decision follows the building framework's controller semantics
// (docs/control.md) — with items that end at their to_timestamp.
package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gridbox/gridbox/model"
)

// SetpointItem is what a user wants during [From, To): a preferred value
// and, optionally, the flexibility that lets a schedule run instead —
// acceptable values (discrete) or a [Min, Max] range (continuous) of the
// paired sensor's value. A nil From is "from now", a nil To "forever".
type SetpointItem struct {
	From       *int64   `json:"from_timestamp"`
	To         *int64   `json:"to_timestamp"`
	Preferred  any      `json:"preferred_value"`
	Acceptable []any    `json:"acceptable_values,omitempty"`
	Min        *float64 `json:"min_value,omitempty"`
	Max        *float64 `json:"max_value,omitempty"`
}

// ScheduleItem is the value an optimiser asks for during [From, To).
type ScheduleItem struct {
	From  *int64 `json:"from_timestamp"`
	To    *int64 `json:"to_timestamp"`
	Value any    `json:"value"`
}

// flexible reports whether the item lets a schedule run at all.
func (s SetpointItem) flexible() bool {
	return s.Acceptable != nil || s.Min != nil || s.Max != nil
}

// active reports whether [from, to) holds now.
func active(from, to *int64, now int64) bool {
	return (from == nil || *from <= now) && (to == nil || now < *to)
}

// ItemErrors lists every problem of a setpoint or schedule, each naming the
// item and key ("[1].preferred_value: above max 30").
type ItemErrors []string

// Problems lists the problems (for answers that show each one).
func (e ItemErrors) Problems() []string { return e }

func (e ItemErrors) Error() string {
	if len(e) == 1 {
		return e[0]
	}
	return fmt.Sprintf("%d errors: %s", len(e), joinErrs(e))
}

func joinErrs(e []string) string {
	var b bytes.Buffer
	for i, s := range e {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}

// maxItems bounds one setpoint or schedule.
const maxItems = 1000

// decodeStrict decodes JSON data into out, refusing unknown keys and trailing data.
func decodeStrict(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// ParseSetpoint decodes a setpoint (a JSON list of items, or null to clear)
// and checks it against the actuator's metadata.
func ParseSetpoint(data []byte, act model.Datapoint) ([]SetpointItem, error) {
	var items []SetpointItem
	if err := decodeStrict(data, &items); err != nil {
		return nil, ItemErrors{"setpoint: " + err.Error()}
	}
	var errs ItemErrors
	if len(items) > maxItems {
		errs = append(errs, fmt.Sprintf("setpoint: %d items: at most %d", len(items), maxItems))
	}
	for i, it := range items {
		bad := func(key, format string, a ...any) {
			errs = append(errs, fmt.Sprintf("[%d].%s: %s", i, key, fmt.Sprintf(format, a...)))
		}
		checkSpan(it.From, it.To, bad)
		v, err := act.CheckWrite(it.Preferred)
		if err != nil {
			bad("preferred_value", "%v", err)
		}
		items[i].Preferred = v
		if it.Acceptable != nil && (it.Min != nil || it.Max != nil) {
			bad("acceptable_values", "give acceptable_values (discrete) or min_value/max_value (continuous), not both")
		}
		for j, a := range it.Acceptable {
			if _, err := act.CheckWrite(a); err != nil {
				bad(fmt.Sprintf("acceptable_values[%d]", j), "%v", err)
			}
		}
		if it.Min != nil && it.Max != nil && *it.Min > *it.Max {
			bad("min_value", "%g is above max_value %g", *it.Min, *it.Max)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return items, nil
}

// ParseSchedule decodes a schedule (a JSON list of items, or null to clear)
// and checks every value against the actuator's metadata.
func ParseSchedule(data []byte, act model.Datapoint) ([]ScheduleItem, error) {
	var items []ScheduleItem
	if err := decodeStrict(data, &items); err != nil {
		return nil, ItemErrors{"schedule: " + err.Error()}
	}
	var errs ItemErrors
	if len(items) > maxItems {
		errs = append(errs, fmt.Sprintf("schedule: %d items: at most %d", len(items), maxItems))
	}
	for i, it := range items {
		bad := func(key, format string, a ...any) {
			errs = append(errs, fmt.Sprintf("[%d].%s: %s", i, key, fmt.Sprintf(format, a...)))
		}
		checkSpan(it.From, it.To, bad)
		v, err := act.CheckWrite(it.Value)
		if err != nil {
			bad("value", "%v", err)
		}
		items[i].Value = v
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return items, nil
}

func checkSpan(from, to *int64, bad func(key, format string, a ...any)) {
	if from != nil && to != nil && *from >= *to {
		bad("from_timestamp", "%d is not before to_timestamp %d", *from, *to)
	}
}
