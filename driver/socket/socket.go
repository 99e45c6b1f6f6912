// Package socket is gridbox's TCP socket driver (`driver: socket`): it
// connects to a device that streams JSON or YAML documents (one per line, or
// separated as documents), takes each datapoint's value by path, and
// reconnects with backoff when nothing arrives within the timeout.
// Malformed documents are counted and never stop the device.
package socket

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/gridbox/gridbox/driver"
	"github.com/prometheus/client_golang/prometheus"
)

// Driver is the socket driver of one gateway; it owns the metric vectors.
type Driver struct {
	mu      sync.Mutex
	metrics map[prometheus.Registerer]*metrics
}

// New returns a socket driver.
func New() *Driver { return &Driver{metrics: map[prometheus.Registerer]*metrics{}} }

// Factory returns the driver's factory for the gateway's driver table.
func (d *Driver) Factory() driver.Factory {
	return driver.Factory{
		Name:      "socket",
		NewConfig: func() driver.Config { return NewConfig() },
		New:       d.NewDevice,
	}
}

// NewDevice builds a device from a validated *Config.
func (d *Driver) NewDevice(c driver.Config, env driver.Env) (driver.Device, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("socket: config is %T, want *socket.Config", c)
	}
	addr, err := parseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	points, _ := compile(cfg.Datapoints)
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Device{cfg: cfg, addr: addr, points: points, log: log.With("device", cfg.ID),
		m: d.metricsFor(env.Metrics).forDevice(cfg.ID)}, nil
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
		docs: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_socket_documents_total",
			Help: "Documents received from socket devices, by device.",
		}, []string{"device"})),
		errors: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_socket_errors_total",
			Help: "Socket device errors by device and kind (io, timeout, oversized, malformed, type, missing).",
		}, []string{"device", "kind"})),
		connects: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_socket_connects_total",
			Help: "Connections opened to socket devices (the first and every reconnect), by device.",
		}, []string{"device"})),
	}
	d.metrics[reg] = m
	return m
}

type metrics struct {
	docs, errors, connects *prometheus.CounterVec
}

// devMetrics are one device's metrics; the zero value counts nothing.
type devMetrics struct {
	m      *metrics
	device string
}

func (m *metrics) forDevice(id string) devMetrics { return devMetrics{m: m, device: id} }

func (m devMetrics) doc() {
	if m.m != nil {
		m.m.docs.WithLabelValues(m.device).Inc()
	}
}

func (m devMetrics) connect() {
	if m.m != nil {
		m.m.connects.WithLabelValues(m.device).Inc()
	}
}

func (m devMetrics) error(kind string) {
	if m.m != nil {
		m.m.errors.WithLabelValues(m.device, kind).Inc()
	}
}
