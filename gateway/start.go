package gateway

import (
	"context"
	"fmt"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
	"github.com/prometheus/client_golang/prometheus"
)

// sinkQueue is each sink's bus queue length: a slow sink drops (and counts)
// beyond it, never blocking a driver.
const sinkQueue = 1 << 16

// Start opens every sink in registration order, restores the last values
// from the first history store, and starts the sinks and devices. They run
// until ctx is done; then call Wait. On error everything opened is closed.
func (g *Gateway) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			g.closeAll()
		}
	}()
	// shared holds what the sinks opened so far offer the later ones.
	shared := sink.Env{Site: g.cfg.Site, Version: g.opts.Version, Bus: g.bus, Gatherer: g.reg,
		Device: g.device, DataDir: g.dataDir(), DeviceSchemas: deviceSchemas(g.drivers)}
	for _, in := range g.sinks {
		env := shared
		env.Name = in.name
		env.Log = g.log.With("component", in.name)
		env.Metrics = prometheus.WrapRegistererWith(prometheus.Labels{"sink": in.name}, g.reg)
		s, err := in.kind.New(ctx, in.cfg, env)
		if err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
		in.s = s
		if err := g.offer(ctx, &shared, s); err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
	}
	for _, in := range g.sinks {
		g.runSink(ctx, in)
	}
	g.goRun("watchdog", func() error { return g.bus.RunWatchdogs(ctx, g.log.With("component", "watchdog")) })
	for _, d := range g.devices {
		g.goRun("device "+d.id, func() error { return d.dev.Run(ctx, g.bus) })
	}
	g.log.Info("gateway started", "site", g.cfg.Site, "devices", len(g.devices), "sinks", len(g.sinks), "http", g.HTTPAddr(), "mqtt", g.MQTTAddr())
	return nil
}

// offer adds the capabilities of sink s to shared, for the sinks opened
// after it: its routes, and — the first of each — its MQTT connection,
// controller, audit log (which the bus then records writes in) and history
// (from which the bus's last values are restored).
func (g *Gateway) offer(ctx context.Context, shared *sink.Env, s sink.Sink) error {
	if r, ok := s.(sink.Router); ok {
		shared.Routes = append(shared.Routes, r.Routes()...)
	}
	if m, ok := s.(sink.MQTT); ok && shared.MQTT == nil {
		shared.MQTT = m
	}
	if c, ok := s.(sink.Controls); ok && shared.Controls == nil {
		shared.Controls = c
	}
	if a, ok := s.(model.AuditLog); ok && shared.Audit == nil {
		shared.Audit = a
		g.bus.SetAuditLog(a, g.log.With("component", "audit"))
	}
	if h, ok := s.(sink.Historian); ok && shared.History == nil {
		shared.History = h
		return g.restore(ctx, h)
	}
	return nil
}

// device returns the device with the given id (sink.Env.Device).
func (g *Gateway) device(id string) (driver.Device, bool) {
	for _, d := range g.devices {
		if d.id == id {
			return d.dev, true
		}
	}
	return nil, false
}

// runSink runs one sink with its own bus subscription (values, device
// states and catalog changes) unless it subscribes by itself.
func (g *Gateway) runSink(ctx context.Context, in *instance) {
	s := in.s
	if in.kind.OwnSubscriptions {
		g.goRun(in.name, func() error { return s.Run(ctx, nil) })
		return
	}
	sub := g.bus.Subscribe(in.name, bus.Options{Size: sinkQueue, States: true, Events: true})
	g.goRun(in.name, func() error { defer g.bus.Unsubscribe(sub); return s.Run(ctx, sub) })
}

// restore sets the bus's last values from the history store, so the API and
// a fresh MQTT subscriber see values before the first poll.
func (g *Gateway) restore(ctx context.Context, h sink.Historian) error {
	last, err := h.LastValues(ctx)
	if err != nil {
		return fmt.Errorf("restore last values: %w", err)
	}
	g.bus.Restore(last)
	g.log.Info("last values restored", "values", len(last))
	return nil
}

// dataDir is where sinks keep files of their own: the directory of the
// first sink config that names one (the embedded store's), else ./data.
func (g *Gateway) dataDir() string {
	for _, in := range g.sinks {
		if d, ok := in.cfg.(interface{ Dir() string }); ok && d.Dir() != "" {
			return d.Dir()
		}
	}
	return "./data"
}
