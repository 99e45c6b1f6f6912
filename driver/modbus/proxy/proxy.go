// Package proxy is the Modbus proxy (`modbus_proxy:`): a Modbus TCP server
// that forwards each request to one Modbus device of the gateway through
// the gateway's own connection to it, serialised with the poller — so a
// device that accepts a single Modbus TCP client can serve gridbox and a
// vendor tool at once. Reads may be answered from the poller's last read;
// writes go through the bus's write path (limits, write gap, counters).
package proxy

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/sink"
	"github.com/simonvetter/modbus"
)

// Upstream is what the proxy needs of a device: *modbus.Device of
// driver/modbus implements it. Tables are holding, input, coil, discrete.
type Upstream interface {
	// ProxyRead reads count registers (bits) at addr, from the poller's
	// last read when it is younger than maxAge (cached), else with one
	// request on the device's connection.
	ProxyRead(ctx context.Context, table string, addr, count uint16, maxAge time.Duration) (regs []uint16, bits []bool, cached bool, err error)
	// ProxyWrite writes raw registers (bits) with one request.
	ProxyWrite(ctx context.Context, table string, addr uint16, regs []uint16, bits []bool) error
	// ProxyDatapoint maps a write to the datapoint whose registers it
	// covers exactly, with the value it means.
	ProxyDatapoint(table string, addr uint16, regs []uint16, bits []bool) (name string, v any, found bool, err error)
}

// Writer is the bus's write path (*bus.Bus).
type Writer interface {
	Write(ctx context.Context, device, name string, v any) (any, error)
}

// Kind is the `modbus_proxy` sink kind: a list of proxies.
func Kind() sink.Kind {
	return sink.Kind{
		Name: "modbus_proxy", List: true, OwnSubscriptions: true,
		NewConfig: func() sink.Config { return NewConfig() },
		New: func(ctx context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
			cfg, ok := c.(*Config)
			if !ok {
				return nil, fmt.Errorf("modbus_proxy: config is %T", c)
			}
			return open(ctx, cfg, env)
		},
	}
}

// Proxy is one running proxy.
type Proxy struct {
	srv  *modbus.ModbusServer
	addr string
	h    *handler
}

func open(ctx context.Context, cfg *Config, env sink.Env) (*Proxy, error) {
	if env.Device == nil {
		return nil, fmt.Errorf("device %q: no devices to proxy", cfg.Device)
	}
	dev, ok := env.Device(cfg.Device)
	if !ok {
		return nil, fmt.Errorf("device %q: no such device", cfg.Device)
	}
	up, ok := dev.(Upstream)
	if !ok {
		return nil, fmt.Errorf("device %q is not a Modbus device", cfg.Device)
	}
	lg := env.Log
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	var w Writer
	if env.Bus != nil {
		w = env.Bus
	}
	h := &handler{ctx: ctx, cfg: cfg, up: up, bus: w, log: lg.With("device", cfg.Device), m: newMetrics(env.Metrics)}
	addr, err := resolve(cfg.Listen)
	if err != nil {
		return nil, err
	}
	srv, err := modbus.NewServer(&modbus.ServerConfiguration{
		URL: "tcp://" + addr, MaxClients: uint(cfg.MaxClients), Timeout: cfg.IdleTimeout.D(),
		Logger: log.New(io.Discard, "", 0),
	}, h)
	if err != nil {
		return nil, fmt.Errorf("modbus proxy %s: %w", cfg.Listen, err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("modbus proxy: listen %s: %w", cfg.Listen, err)
	}
	h.log.Info("modbus proxy listening", "listen", addr, "read_only", cfg.ReadOnly, "max_age", cfg.MaxAge.D())
	return &Proxy{srv: srv, addr: addr, h: h}, nil
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.addr }

// Run waits until ctx is done; the server answers on its own goroutines,
// which Close stops.
func (p *Proxy) Run(ctx context.Context, _ *bus.Subscription) error {
	<-ctx.Done()
	return nil
}

// Close stops the listener and closes every client connection.
func (p *Proxy) Close() error { return p.srv.Stop() }
