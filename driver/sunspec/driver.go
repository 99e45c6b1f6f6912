// Package sunspec is gridbox's SunSpec driver: it finds the "SunS" marker
// of a Modbus device, walks its model chain, splits it into logical
// devices at every common block (model 1) and polls the models it decodes
// with the fewest reads, applying scale factors and turning not-implemented
// sentinels into null. Control points (models 123, 124, 704) are actuators.
package sunspec

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/gridbox/gridbox/driver"
	"github.com/prometheus/client_golang/prometheus"
)

// Driver is the SunSpec driver of one gateway: it owns the connections
// (one per URL, shared by the devices behind it) and the metric vectors.
type Driver struct {
	conns conns

	mu      sync.Mutex
	metrics map[prometheus.Registerer]*metrics
}

// New returns a driver without connections.
func New() *Driver { return &Driver{metrics: map[prometheus.Registerer]*metrics{}} }

// Factory returns the driver's factory for the gateway's driver table.
func (d *Driver) Factory() driver.Factory {
	return driver.Factory{
		Name:      "sunspec",
		NewConfig: func() driver.Config { return NewConfig() },
		New:       d.NewDevice,
		Close:     d.conns.close,
	}
}

// NewDevice builds a device from a validated *Config. Its datapoints are
// known after discovery and reach the gateway through env.Catalog.
func (d *Driver) NewDevice(c driver.Config, env driver.Env) (driver.Device, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("sunspec: config is %T, want *sunspec.Config", c)
	}
	t, err := parseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dev := newDevice(cfg, d.conns.get(t.url, cfg.Timeout.D()), env.Catalog, log)
	dev.m = d.metricsFor(env.Metrics).forDevice(cfg.ID)
	return dev, nil
}

func (d *Driver) metricsFor(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if m, ok := d.metrics[reg]; ok {
		return m
	}
	m := newMetrics(reg)
	d.metrics[reg] = m
	return m
}

// metrics are the driver's Prometheus vectors.
type metrics struct {
	requests    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	discoveries *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		requests: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_sunspec_requests_total", Help: "SunSpec Modbus requests sent, by device.",
		}, []string{"device"})),
		errors: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_sunspec_errors_total", Help: "SunSpec errors by device and kind (timeout, exception, io, decode, layout, discovery).",
		}, []string{"device", "kind"})),
		discoveries: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_sunspec_discoveries_total", Help: "SunSpec model chain discoveries, by device.",
		}, []string{"device"})),
	}
}

// devMetrics are one device's metrics; the zero value counts nothing.
type devMetrics struct {
	m      *metrics
	device string
}

func (m *metrics) forDevice(id string) devMetrics { return devMetrics{m, id} }

func (m devMetrics) request() {
	if m.m != nil {
		m.m.requests.WithLabelValues(m.device).Inc()
	}
}

func (m devMetrics) error(kind string) {
	if m.m != nil {
		m.m.errors.WithLabelValues(m.device, kind).Inc()
	}
}

func (m devMetrics) discovery() {
	if m.m != nil {
		m.m.discoveries.WithLabelValues(m.device).Inc()
	}
}
