// Package knx is gridbox's KNX/IP driver: it connects to a KNX/IP gateway
// by tunnelling (or joins the routing multicast group), turns group
// telegrams into datapoint values by group address and DPT, asks for every
// group address's value at start and writes actuators as group writes.
package knx

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/prometheus/client_golang/prometheus"
)

// Driver is the KNX driver of one gateway; it owns the metric vectors its
// devices share. Each device has its own link.
type Driver struct {
	dial dialer

	mu      sync.Mutex
	metrics map[prometheus.Registerer]*metrics
}

// New returns the driver.
func New() *Driver {
	return &Driver{dial: dial, metrics: map[prometheus.Registerer]*metrics{}}
}

// Factory returns the driver's factory for the gateway's driver table.
func (d *Driver) Factory() driver.Factory {
	return driver.Factory{
		Name:      "knx",
		NewConfig: func() driver.Config { return NewConfig() },
		New:       d.NewDevice,
	}
}

// NewDevice builds a device from a validated *Config, loading its profile
// through env.Profiles.
func (d *Driver) NewDevice(c driver.Config, env driver.Env) (driver.Device, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("knx: config is %T, want *knx.Config", c)
	}
	prof, perrs := cfg.loadProfile(env.Profiles)
	if len(perrs) > 0 {
		return nil, config.Errors(perrs)
	}
	points, errs := compile(merge(prof, cfg.Datapoints), "datapoints")
	if len(errs) > 0 {
		return nil, config.Errors(errs)
	}
	addr, err := parseURL(cfg.URL, cfg.Mode)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dev := newDevice(cfg, addr, points, d.dial, log.With("device", cfg.ID))
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
	m := &metrics{
		telegrams: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_knx_telegrams_total",
			Help: "KNX group telegrams received for a configured group address, by device.",
		}, []string{"device"})),
		errors: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_knx_errors_total",
			Help: "KNX errors by device and kind (link, send, decode).",
		}, []string{"device", "kind"})),
	}
	d.metrics[reg] = m
	return m
}

type metrics struct {
	telegrams *prometheus.CounterVec
	errors    *prometheus.CounterVec
}

// devMetrics are one device's metrics; the zero value counts nothing.
type devMetrics struct {
	telegrams prometheus.Counter
	errors    *prometheus.CounterVec
	device    string
}

func (m *metrics) forDevice(id string) devMetrics {
	if m == nil {
		return devMetrics{}
	}
	return devMetrics{telegrams: m.telegrams.WithLabelValues(id), errors: m.errors, device: id}
}

func (m devMetrics) telegram() {
	if m.telegrams != nil {
		m.telegrams.Inc()
	}
}

func (m devMetrics) error(kind string) {
	if m.errors != nil {
		m.errors.WithLabelValues(m.device, kind).Inc()
	}
}
