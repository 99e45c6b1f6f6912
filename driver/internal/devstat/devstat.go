// Package devstat holds what the event-driven drivers (homematic, keba,
// mqtt) share: a per-device count of malformed device answers, exported as
// a Prometheus counter, and the slug rule for names built at run time.
package devstat

import (
	"github.com/gridbox/gridbox/driver"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Malformed counts one device's malformed answers (bad JSON or XML,
// truncated frames, wrong types, oversized bodies) by kind. The zero value
// counts without exporting.
type Malformed struct {
	total  atomic.Uint64
	vec    *prometheus.CounterVec
	driver string
	device string
}

// NewMalformed returns the counter of one device, exported as
// gridbox_driver_malformed_total{driver,device,kind} when reg is not nil.
func NewMalformed(reg prometheus.Registerer, driverName, device string) *Malformed {
	m := &Malformed{driver: driverName, device: device}
	if reg == nil {
		return m
	}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridbox_driver_malformed_total",
		Help: "Malformed device answers (bad JSON/XML, truncated, wrong type, oversized), by driver, device and kind.",
	}, []string{"driver", "device", "kind"})
	vec = driver.RegisterMetric(reg, vec)
	m.vec = vec
	return m
}

// Add counts one malformed answer of kind (like "xml", "json", "type", "oversized").
func (m *Malformed) Add(kind string) {
	m.total.Add(1)
	if m.vec != nil {
		m.vec.WithLabelValues(m.driver, m.device, kind).Inc()
	}
}

// Total returns how many malformed answers were counted.
func (m *Malformed) Total() uint64 { return m.total.Load() }

// Slug lower-cases s and replaces every character outside [a-z0-9_-] by
// '_', collapsing runs and trimming leading separators, so that
// "NEQ0123456:1" + "_" + "SET_TEMPERATURE" becomes
// "neq0123456_1_set_temperature". It returns "" when nothing is left.
func Slug(s string) string {
	var b strings.Builder
	last := byte('_')
	for _, r := range strings.ToLower(s) {
		c := byte('_')
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			c = byte(r)
		}
		if c == '_' && last == '_' {
			continue
		}
		b.WriteByte(c)
		last = c
	}
	out := strings.TrimRight(b.String(), "_")
	return strings.TrimLeft(out, "-_")
}
