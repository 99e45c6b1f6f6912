package model

import (
	"fmt"
	"slices"
)

// Metric kinds say how a datapoint's values aggregate over time windows
// (the uplink's rollups): gauge, cumulative and actuator streams carry
// their last value forward; delta and total streams are amounts per
// sample, interpolated onto the windows and summed.
const (
	MetricGauge      = "gauge"      // an instantaneous reading (power, temperature); the default for sensors
	MetricCumulative = "cumulative" // a growing counter (an energy meter's total)
	MetricActuator   = "actuator"   // a set value; the default for actuators
	MetricDelta      = "delta"      // the amount since the previous sample (energy per interval)
	MetricTotal      = "total"      // the amount of the sample's interval, summed like delta
)

// MetricKinds lists the valid metric kinds.
func MetricKinds() []string {
	return []string{MetricGauge, MetricCumulative, MetricActuator, MetricDelta, MetricTotal}
}

// EffectiveMetricKind is the metric kind set on the datapoint, or the
// default for its kind.
func (m Meta) EffectiveMetricKind() string {
	switch {
	case m.MetricKind != "":
		return m.MetricKind
	case m.Kind == Actuator:
		return MetricActuator
	}
	return MetricGauge
}

// Summed reports whether the metric kind's values are amounts to sum.
func (m Meta) Summed() bool {
	k := m.EffectiveMetricKind()
	return k == MetricDelta || k == MetricTotal
}

func (m Meta) checkMetricKind() error {
	if m.MetricKind != "" && !slices.Contains(MetricKinds(), m.MetricKind) {
		return fmt.Errorf("metric_kind %q: want one of %v", m.MetricKind, MetricKinds())
	}
	return nil
}

// SameValue reports whether two values of the model (float64, string,
// bool, or nil for "not available") are equal; values of other types never
// are. The write path uses it to skip a value the device already holds,
// the controllers to write only a changed decision.
func SameValue(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}
