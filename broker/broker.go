// Package broker runs gridbox's embedded MQTT broker (mochi-mqtt) so the
// gateway works with zero set-up: the publisher talks to it in-process and
// other programs connect over TCP.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Defaults bound what one client can make the broker hold: a small packet
// limit (a gateway's messages are tens of bytes), a deep per-client queue
// (a burst to a slow subscriber is queued, not dropped) and a client cap so
// the queues' memory stays bounded.
const (
	DefaultMaxPacketSize = 256 << 10
	DefaultMaxClients    = 100
	DefaultMaxQueued     = 1 << 16
	writeBufferSize      = 64 << 10
	readBufferSize       = 8 << 10
	maxInflight          = 1<<16 - 1 // the largest mochi allows (uint16)
)

// Options configure the embedded broker. The zero value of each limit means
// its default.
type Options struct {
	Listen        string // host:port; port 0 picks a free port
	MaxPacketSize int    // bytes; a larger packet disconnects its client
	MaxClients    int    // connections beyond it are refused (CONNACK server unavailable/busy)
	MaxQueued     int    // messages queued per client before further ones are dropped and counted
}

func (o Options) withDefaults() Options {
	if o.MaxPacketSize <= 0 {
		o.MaxPacketSize = DefaultMaxPacketSize
	}
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.MaxQueued <= 0 {
		o.MaxQueued = DefaultMaxQueued
	}
	return o
}

// Broker is a running embedded MQTT broker with one TCP listener.
type Broker struct {
	srv    *mqtt.Server
	ln     net.Listener
	opts   Options
	guard  *guard
	access *access
	once   sync.Once
}

// Start listens on o.Listen and serves MQTT 3.1.1 and 5 clients. Every
// client may connect, publish and subscribe unless a Policy added by a sink
// refuses (AddPolicy): the embedded broker is meant for the local network.
func Start(o Options, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o = o.withDefaults()
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: listen %s: %w", o.Listen, err)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = uint32(o.MaxPacketSize)
	caps.MaximumClientWritesPending = int32(o.MaxQueued)
	caps.MaximumInflight = maxInflight
	srv := mqtt.New(&mqtt.Options{
		InlineClient:             true,
		Capabilities:             caps,
		ClientNetWriteBufferSize: writeBufferSize,
		ClientNetReadBufferSize:  readBufferSize,
		Logger:                   slog.New(quieter{log.Handler()}),
	})
	g := newGuard(log, int64(o.MaxClients), uint32(o.MaxPacketSize))
	g.srv = srv
	acc := &access{srv: srv}
	for _, h := range []mqtt.Hook{acc, g} {
		if err := srv.AddHook(h, nil); err != nil {
			ln.Close()
			return nil, fmt.Errorf("embedded broker: hook %s: %w", h.ID(), err)
		}
	}
	if err := srv.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: listener %s: %w", o.Listen, err)
	}
	if err := srv.Serve(); err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded broker: serve: %w", err)
	}
	log.Info("embedded MQTT broker listening", "addr", ln.Addr().String(),
		"max_packet_size", o.MaxPacketSize, "max_clients", o.MaxClients, "max_queued", o.MaxQueued)
	return &Broker{srv: srv, ln: ln, opts: o, guard: g, access: acc}, nil
}

// Addr is the host:port a client on this machine can dial; an unspecified
// listen host (":1883", "0.0.0.0:1883") is reported as 127.0.0.1.
func (b *Broker) Addr() string {
	a, ok := b.ln.Addr().(*net.TCPAddr)
	if !ok {
		return b.ln.Addr().String()
	}
	if a.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(a.Port))
	}
	return a.String()
}

// Server is the mochi server, for in-process (inline client) publishing and
// subscribing without a TCP hop.
func (b *Broker) Server() *mqtt.Server { return b.srv }

// Close stops the listener and disconnects every client. It is safe to call
// more than once.
func (b *Broker) Close() error {
	var err error
	b.once.Do(func() {
		err = b.srv.Close()
		if cerr := b.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = fmt.Errorf("embedded broker: close listener: %w", cerr)
		}
	})
	return err
}

// quieter lowers mochi's log records by one step (info → debug, warn →
// info, error → warn) so that routine client connects and disconnects do not
// flood the gateway log.
type quieter struct{ h slog.Handler }

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return q.h.Enabled(ctx, l-4)
}

func (q quieter) Handle(ctx context.Context, r slog.Record) error {
	r.Level -= 4
	return q.h.Handle(ctx, r)
}

func (q quieter) WithAttrs(as []slog.Attr) slog.Handler { return quieter{q.h.WithAttrs(as)} }

func (q quieter) WithGroup(name string) slog.Handler { return quieter{q.h.WithGroup(name)} }
