// Package gateway builds a running gridbox from a config: it is the one place
// that wires drivers, the bus and the sinks together; drivers and sinks never
// import each other (docs/architecture.md).
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Options are what the caller adds to a config.
type Options struct {
	Version  string
	Log      *slog.Logger
	Profiles driver.ProfileSource
	// Drivers and Sinks are registered after the built-in ones (a test's
	// own driver or sink kind, a build with extra plug-ins).
	Drivers []driver.Factory
	Sinks   []sink.Kind
}

// Gateway is one configured gridbox. Start it, then cancel its context and Wait.
type Gateway struct {
	cfg     *config.Config
	opts    Options
	log     *slog.Logger
	bus     *bus.Bus
	reg     *prometheus.Registry
	devices []built
	drivers []driver.Factory
	sinks   []*instance

	wg    sync.WaitGroup
	errMu sync.Mutex
	err   error
}

// Check validates the sink sections and every device's driver settings and
// profile, without opening anything. It reports the problems of every check
// it can run (see buildDevice), so that one run shows them all. The error is
// a config.Errors, sorted by line; problems of the core keys are config.Load's.
func Check(cfg *config.Config, opts Options) error {
	drivers := append(builtinDrivers(), opts.Drivers...)
	defer closeDrivers(drivers)
	_, errs := buildSinks(cfg, append(builtinSinks(), opts.Sinks...))
	_, derrs := buildDevices(cfg, drivers, driver.Env{Log: logger(opts), Profiles: opts.Profiles})
	errs = append(errs, derrs...)
	if len(errs) > 0 {
		errs.Sort()
		return errs
	}
	return nil
}

// SinkConfigs returns the decoded and checked configs of every instance of
// one sink kind, for commands that work on a sink's data without running a
// gateway (backup, restore, import of the store).
func SinkConfigs(cfg *config.Config, kind string, opts Options) ([]sink.Config, error) {
	ins, errs := buildSinks(cfg, append(builtinSinks(), opts.Sinks...))
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	var out []sink.Config
	for _, in := range ins {
		if in.kind.Name == kind {
			out = append(out, in.cfg)
		}
	}
	return out, nil
}

// New builds the gateway's sink configs, devices and bus from cfg; it opens
// nothing yet.
func New(cfg *config.Config, opts Options) (*Gateway, error) {
	g := &Gateway{cfg: cfg, opts: opts, log: logger(opts), bus: bus.New(), reg: prometheus.NewRegistry()}
	g.bus.SetLogger(g.log.With("component", "bus"))
	g.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), bus.NewCollector(g.bus))
	sinks, errs := buildSinks(cfg, append(builtinSinks(), opts.Sinks...))
	g.drivers = append(builtinDrivers(), opts.Drivers...)
	devs, derrs := buildDevices(cfg, g.drivers, driver.Env{Log: g.log, Metrics: g.reg, Profiles: opts.Profiles, Catalog: g.bus})
	if errs = append(errs, derrs...); len(errs) > 0 {
		closeDrivers(g.drivers)
		errs.Sort()
		return nil, errs
	}
	g.devices, g.sinks = devs, sinks
	for _, d := range devs {
		w, _ := d.dev.(driver.Writer)
		st := model.DeviceState{Device: d.id, Driver: d.driver}
		if err := g.bus.AddDevice(st, d.dev.Datapoints(), w, d.writeGap.Milliseconds()); err != nil {
			closeDrivers(g.drivers)
			return nil, fmt.Errorf("device %s: %w", d.id, err)
		}
	}
	return g, nil
}

// HTTPAddr is the address the API listens on, once started ("" without one).
func (g *Gateway) HTTPAddr() string { return g.addr("http") }

// MQTTAddr is the first mqtt sink's embedded broker address, or its
// external broker URL ("" without one).
func (g *Gateway) MQTTAddr() string { return g.addr("mqtt") }

// addr is the address of the first started instance of a kind that has one.
func (g *Gateway) addr(kind string) string {
	for _, in := range g.sinks {
		if a, ok := in.s.(sink.Addresser); ok && in.kind.Name == kind {
			return a.Addr()
		}
	}
	return ""
}

// Bus is the gateway's bus (for tests and embedding programs).
func (g *Gateway) Bus() *bus.Bus { return g.bus }

func logger(o Options) *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.New(slog.DiscardHandler)
}

// fail records the first error of a component.
func (g *Gateway) fail(what string, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	g.log.Error("component failed", "component", what, "err", err)
	g.errMu.Lock()
	defer g.errMu.Unlock()
	if g.err == nil {
		g.err = fmt.Errorf("%s: %w", what, err)
	}
}

// goRun runs f in a goroutine owned by the gateway; Wait waits for it.
func (g *Gateway) goRun(what string, f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.fail(what, f())
	}()
}

// Wait blocks until every component has stopped (after ctx of Start is
// done), releases resources and returns the first component error.
func (g *Gateway) Wait() error {
	g.wg.Wait()
	g.closeAll()
	g.errMu.Lock()
	defer g.errMu.Unlock()
	return g.err
}

// closeAll closes the sinks in reverse start order, then the drivers.
func (g *Gateway) closeAll() {
	for i := len(g.sinks) - 1; i >= 0; i-- {
		if in := g.sinks[i]; in.s != nil {
			g.fail(in.name+" close", in.s.Close())
			in.s = nil
		}
	}
	g.fail("drivers close", closeDrivers(g.drivers))
	g.drivers = nil
}

// closeDrivers releases what each driver shared.
func closeDrivers(fs []driver.Factory) error {
	var errs []error
	for _, f := range fs {
		if f.Close != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}
