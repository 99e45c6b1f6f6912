// Package httpdrv is gridbox's HTTP driver (`driver: http`): it polls a
// device's HTTP answer (JSON, XML or key=value lines) and finds each
// datapoint's value by path, writes actuators with configured requests and
// carries built-in profiles (Fronius Solar API, Senertec Dachs, AMBUS Net
// SOAP). Malformed answers are counted per device and never stop it.
package httpdrv

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/prometheus/client_golang/prometheus"
)

// Driver is the HTTP driver of one gateway: its devices share one
// transport (keep-alive connections) and the metric vectors.
type Driver struct {
	transport *http.Transport

	mu      sync.Mutex
	metrics map[prometheus.Registerer]*metrics
}

// New returns a driver with its own connection pool.
func New() *Driver {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	return &Driver{transport: tr, metrics: map[prometheus.Registerer]*metrics{}}
}

// Factory returns the driver's factory for the gateway's driver table.
func (d *Driver) Factory() driver.Factory {
	return driver.Factory{
		Name:      "http",
		NewConfig: func() driver.Config { return NewConfig() },
		New:       d.NewDevice,
		Close:     d.Close,
	}
}

// Close closes the idle connections of the driver's devices.
func (d *Driver) Close() error {
	d.transport.CloseIdleConnections()
	return nil
}

// NewDevice builds a device from a validated *Config, loading its profile.
func (d *Driver) NewDevice(c driver.Config, env driver.Env) (driver.Device, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("http: config is %T, want *httpdrv.Config", c)
	}
	dev, err := build(cfg, env.Profiles, &http.Client{Transport: d.transport, Timeout: cfg.Timeout.D()})
	if err != nil {
		return nil, err
	}
	dev.log = env.Log
	if dev.log == nil {
		dev.log = slog.New(slog.DiscardHandler)
	}
	dev.log = dev.log.With("device", cfg.ID)
	dev.m = d.metricsFor(env.Metrics).forDevice(cfg.ID)
	return dev, nil
}

// build resolves profile and points into a device without logger and metrics.
func build(cfg *Config, src driver.ProfileSource, client *http.Client) (*Device, error) {
	prof, errs := loadProfile(cfg.Profile, src)
	if len(errs) > 0 {
		return nil, config.Errors(errs)
	}
	t, errs := resolve(cfg, prof)
	if len(errs) > 0 {
		return nil, config.Errors(errs)
	}
	points := cfg.Datapoints
	if prof != nil {
		points = mergePoints(prof.Points, cfg.Datapoints)
	}
	fields, errs := compilePoints(points, t.units, t.format, "datapoints")
	if len(errs) > 0 {
		return nil, config.Errors(errs)
	}
	return newDevice(cfg, t, fields, client), nil
}

// mergePoints returns the profile's points with the inline ones added, an
// inline point replacing a profile point of the same name.
func mergePoints(profile, inline []Point) []Point {
	byName := make(map[string]bool, len(inline))
	for _, p := range inline {
		byName[p.Name] = true
	}
	out := make([]Point, 0, len(profile)+len(inline))
	for _, p := range profile {
		if !byName[p.Name] {
			out = append(out, p)
		}
	}
	return append(out, inline...)
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
		requests: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_http_device_requests_total",
			Help: "HTTP requests sent to devices, by device.",
		}, []string{"device"})),
		errors: driver.RegisterMetric(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_http_device_errors_total",
			Help: "HTTP device errors by device and kind (io, timeout, status, oversized, malformed, type, missing).",
		}, []string{"device", "kind"})),
	}
	d.metrics[reg] = m
	return m
}

type metrics struct {
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

// devMetrics are one device's metrics; the zero value counts nothing.
type devMetrics struct {
	requests prometheus.Counter
	errors   *prometheus.CounterVec
	device   string
}

func (m *metrics) forDevice(id string) devMetrics {
	if m == nil {
		return devMetrics{}
	}
	return devMetrics{requests: m.requests.WithLabelValues(id), errors: m.errors, device: id}
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

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
