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
