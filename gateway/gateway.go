// Package gateway builds a running gridbox from a config: it is the one place
// that wires drivers, the bus and the sinks together (SPEC §10.6).
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gridbox/gridbox/broker"
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Options are what the caller adds to a config.
type Options struct {
	Version  string
	Log      *slog.Logger
	Profiles driver.ProfileSource
}

// Gateway is one configured gridbox. Start it, then cancel its context and Wait.
type Gateway struct {
	cfg          *config.Config
	opts         Options
	log          *slog.Logger
	bus          *bus.Bus
	reg          *prometheus.Registry
	devices      []built
	closeDrivers func() error

	broker  *broker.Broker
	store   *store.Store
	httpLn  net.Listener
	httpSrv *http.Server
	wg      sync.WaitGroup
	errMu   sync.Mutex
	err     error
}

// Check validates every device's driver settings and profile, without
// opening anything. It reports the problems of every check it can run for a
// device (key types, values, profile; see buildDevice), so that one run shows
// them all. The error is a config.Errors, sorted by line; problems of the rest
// of the config are config.Load's.
func Check(cfg *config.Config, opts Options) error {
	drivers, closeDrivers := builtinDrivers()
	defer closeDrivers()
	_, errs := buildDevices(cfg, drivers, driver.Env{Log: logger(opts), Profiles: opts.Profiles})
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// New builds the gateway's devices and bus from cfg; it opens nothing yet.
func New(cfg *config.Config, opts Options) (*Gateway, error) {
	g := &Gateway{cfg: cfg, opts: opts, log: logger(opts), bus: bus.New(), reg: prometheus.NewRegistry()}
	g.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), bus.NewCollector(g.bus))
	drivers, closeDrivers := builtinDrivers()
	devs, errs := buildDevices(cfg, drivers, driver.Env{Log: g.log, Metrics: g.reg, Profiles: opts.Profiles})
	if len(errs) > 0 {
		closeDrivers()
		return nil, errs
	}
	g.devices, g.closeDrivers = devs, closeDrivers
	for _, d := range devs {
		w, _ := d.dev.(bus.Writer)
		st := model.DeviceState{Device: d.id, Driver: d.driver}
		if err := g.bus.AddDevice(st, d.dev.Datapoints(), w, d.writeGap.Milliseconds()); err != nil {
			closeDrivers()
			return nil, fmt.Errorf("device %s: %w", d.id, err)
		}
	}
	return g, nil
}

// HTTPAddr is the address the API listens on, once started.
func (g *Gateway) HTTPAddr() string { return g.httpLn.Addr().String() }

// MQTTAddr is the embedded broker's address, or the external broker URL.
func (g *Gateway) MQTTAddr() string {
	if g.broker != nil {
		return g.broker.Addr()
	}
	return g.cfg.MQTT.Broker
}

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

func (g *Gateway) closeAll() {
	if g.store != nil {
		g.fail("store close", g.store.Close())
	}
	if g.broker != nil {
		g.fail("broker close", g.broker.Close())
	}
	if g.closeDrivers != nil {
		g.fail("drivers close", g.closeDrivers())
	}
}

// shutdownTimeout bounds how long HTTP clients get to finish at stop.
const shutdownTimeout = time.Second
