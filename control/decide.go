package control

import (
	"fmt"

	"github.com/gridbox/gridbox/model"
)

// Decision is what the controller does with an actuator now, and why.
type Decision struct {
	Act    bool   `json:"act"`    // false: leave the actuator alone
	Value  any    `json:"value"`  // the value to hold when Act
	Reason string `json:"reason"` // which rule decided
}

// Decide applies the setpoint/schedule rules at time now (ms). sensor is
// the paired sensor's last value; nil when there is none yet.
//
//  1. no active item → leave the actuator alone
//  2. only a setpoint → its preferred value
//  3. only a schedule → its value
//  4. both, setpoint without flexibility → the preferred value
//  5. both, discrete: the schedule while the sensor is acceptable (or unknown)
//  6. both, continuous: the schedule while the sensor is within [min, max] (or unknown)
func Decide(now int64, setpoint []SetpointItem, schedule []ScheduleItem, sensor *model.Value) Decision {
	sp, hasSP := activeSetpoint(setpoint, now)
	sc, hasSC := activeSchedule(schedule, now)
	switch {
	case !hasSP && !hasSC:
		return Decision{Reason: "no active setpoint or schedule item"}
	case !hasSC:
		return Decision{Act: true, Value: sp.Preferred, Reason: "setpoint only: preferred value"}
	case !hasSP:
		return Decision{Act: true, Value: sc.Value, Reason: "schedule only"}
	case !sp.flexible():
		return Decision{Act: true, Value: sp.Preferred, Reason: "setpoint without flexibility: preferred value"}
	}
	if sensor == nil || sensor.Value == nil {
		return Decision{Act: true, Value: sc.Value, Reason: "schedule: no sensor value yet"}
	}
	if sp.Acceptable != nil {
		for _, a := range sp.Acceptable {
			if model.SameValue(a, sensor.Value) {
				return Decision{Act: true, Value: sc.Value, Reason: fmt.Sprintf("schedule: sensor value %v is acceptable", sensor.Value)}
			}
		}
		return Decision{Act: true, Value: sp.Preferred, Reason: fmt.Sprintf("preferred value: sensor value %v is not acceptable", sensor.Value)}
	}
	f, ok := sensor.Value.(float64)
	if ok && (sp.Min == nil || f >= *sp.Min) && (sp.Max == nil || f <= *sp.Max) {
		return Decision{Act: true, Value: sc.Value, Reason: fmt.Sprintf("schedule: sensor value %v within range", f)}
	}
	return Decision{Act: true, Value: sp.Preferred, Reason: fmt.Sprintf("preferred value: sensor value %v outside range", sensor.Value)}
}

// activeSetpoint returns the first item active at now.
func activeSetpoint(items []SetpointItem, now int64) (SetpointItem, bool) {
	for _, it := range items {
		if active(it.From, it.To, now) {
			return it, true
		}
	}
	return SetpointItem{}, false
}

// activeSchedule returns the first item active at now.
func activeSchedule(items []ScheduleItem, now int64) (ScheduleItem, bool) {
	for _, it := range items {
		if active(it.From, it.To, now) {
			return it, true
		}
	}
	return ScheduleItem{}, false
}

// nextBoundary is the earliest item start or end after now; ok false if none.
func nextBoundary(setpoint []SetpointItem, schedule []ScheduleItem, now int64) (int64, bool) {
	next, ok := int64(0), false
	consider := func(t *int64) {
		if t != nil && *t > now && (!ok || *t < next) {
			next, ok = *t, true
		}
	}
	for _, it := range setpoint {
		consider(it.From)
		consider(it.To)
	}
	for _, it := range schedule {
		consider(it.From)
		consider(it.To)
	}
	return next, ok
}
