// Package modbus is gridbox's Modbus driver (TCP, RTU, RTU over TCP): it
// polls register maps from profiles or inline config, merges neighbouring
// registers into few reads, decodes them into datapoint values and writes
// actuators with read-back. Devices behind one URL share one connection.
package modbus

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/prometheus/client_golang/prometheus"
)

// Driver is the Modbus driver of one gateway: it owns the connection pool
// and the metric vectors shared by its devices.
type Driver struct {
	pool *Pool

	mu      sync.Mutex
	metrics map[prometheus.Registerer]*metrics
	gates   map[*Conn]*connectGate // connect_delay state per connection (connect.go)
}

// New returns a driver with an empty connection pool.
func New() *Driver {
	return &Driver{pool: NewPool(), metrics: map[prometheus.Registerer]*metrics{}, gates: map[*Conn]*connectGate{}}
}

// Factory returns the driver's factory for the gateway's driver table.
func (d *Driver) Factory() driver.Factory {
	return driver.Factory{
		Name:      "modbus",
		NewConfig: func() driver.Config { return NewConfig() },
		New:       d.NewDevice,
		Close:     d.Close,
	}
}

// Close closes every connection of the driver's pool.
func (d *Driver) Close() error { return d.pool.Close() }

// NewDevice builds a device from a validated *Config: it loads the profile
// through env.Profiles, merges the inline registers and joins the shared
// connection of the device's URL. Config problems found here (the profile)
// are a config.Errors with key paths relative to the device.
func (d *Driver) NewDevice(c driver.Config, env driver.Env) (driver.Device, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("modbus: config is %T, want *modbus.Config", c)
	}
	prof, perrs := cfg.loadProfile(env.Profiles)
	if len(perrs) > 0 {
		return nil, config.Errors(perrs)
	}
	eff := cfg.withQuirks(prof)
	unit := eff.unitID(prof)
	static, groups, errs := deviceRegisters(eff, prof, unit)
	if len(errs) > 0 {
		return nil, config.Errors(errs)
	}
	t, err := parseURL(eff.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn := d.pool.conn(t, eff.Timeout.D(), eff.Pause.D())
	dev := newDevice(eff, static, conn, unit, log)
	dev.groups, dev.catalog = groups, env.Catalog
	dev.gate = d.gateFor(conn, eff.ConnectDelay.D())
	dev.m = d.metricsFor(env.Metrics).forDevice(cfg.ID)
	return dev, nil
}

// metricsFor returns the metric vectors registered with reg, creating them once.
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
	pollDuration *prometheus.HistogramVec
	requests     *prometheus.CounterVec
	errors       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		pollDuration: driver.RegisterMetric(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gridbox_poll_duration_seconds",
			Help:    "Duration of one poll of a device.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"device"})),
		requests: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_modbus_requests_total",
			Help: "Modbus requests sent, by device.",
		}, []string{"device"})),
		errors: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_modbus_errors_total",
			Help: "Modbus errors by device and kind (timeout, exception, io, decode).",
		}, []string{"device", "kind"})),
	}
}

// devMetrics are one device's metrics; the zero value counts nothing.
type devMetrics struct {
	poll     prometheus.Observer
	requests prometheus.Counter
	errors   *prometheus.CounterVec
	device   string
}

func (m *metrics) forDevice(id string) devMetrics {
	if m == nil {
		return devMetrics{}
	}
	return devMetrics{
		poll:     m.pollDuration.WithLabelValues(id),
		requests: m.requests.WithLabelValues(id),
		errors:   m.errors,
		device:   id,
	}
}

func (m devMetrics) observePoll(seconds float64) {
	if m.poll != nil {
		m.poll.Observe(seconds)
	}
}

func (m devMetrics) request() {
	if m.requests != nil {
		m.requests.Inc()
	}
}

func (m devMetrics) error(kind string) {
	if m.errors != nil {
		m.errors.WithLabelValues(m.device, kind).Inc()
	}
}
