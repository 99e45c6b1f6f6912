// Package broker runs gridbox's embedded MQTT broker (mochi-mqtt) so the
// gateway works with zero set-up: the publisher talks to it in-process and
// other programs connect over TCP.
package broker

import (
	"context"
	"crypto/tls"
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

	// Users may connect with their name and password; with none configured,
	// anonymous clients may connect on loopback listeners only, unless
	// AllowAnonymous allows them everywhere.
	Users          []User
	AllowAnonymous bool

	// TLS, when set, makes Listen speak TLS, or, with TLSListen, adds a TLS
	// listener next to the plain one.
	TLS       *tls.Config
	TLSListen string

	// WebSocketListen adds an MQTT-over-WebSocket listener for browsers;
	// WebSocketOrigins are extra allowed browser origins (host patterns);
	// WebSocketTLS makes it speak TLS (wss) with the TLS config.
	WebSocketListen  string
	WebSocketOrigins []string
	WebSocketTLS     bool

	// Rate limits; 0 means no limit. Connections per second per remote
	// host, publishes per second per client, each with a burst.
	ConnectRate  float64
	ConnectBurst int
	MessageRate  float64
	MessageBurst int
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

// Broker is a running embedded MQTT broker with its listeners.
type Broker struct {
	srv    *mqtt.Server
	lns    map[string]net.Listener // listener id → socket
	opts   Options
	guard  *guard
	auth   *authHook
	access *access // the rules sinks add (AddPolicy)
	once   sync.Once
}

// Listener ids, also the keys of Broker.Addrs.
const (
	ListenerMQTT = "mqtt" // Listen (TLS when Options.TLS is set without TLSListen)
	ListenerTLS  = "tls"  // TLSListen
	ListenerWS   = "ws"   // WebSocketListen
)

// Start opens the listeners and serves MQTT 3.1.1 and 5 clients, checking
// users, access levels, topic patterns and rate limits, and the rules
// sinks add (AddPolicy).
func Start(o Options, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o = o.withDefaults()
	if o.TLS == nil && (o.TLSListen != "" || o.WebSocketTLS) {
		return nil, errors.New("embedded broker: a TLS listener needs a TLS config (certificate)")
	}
	lns, err := openListeners(o)
	if err != nil {
		return nil, err
	}
	b := &Broker{lns: lns, opts: o}
	if err := b.serve(o, log); err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		return nil, err
	}
	b.logStart(log)
	return b, nil
}

func (b *Broker) serve(o Options, log *slog.Logger) error {
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
	g.connLimit = newLimiter(o.ConnectRate, o.ConnectBurst)
	ah, err := newAuthHook(log, o.Users, b.anonymousOK, newLimiter(o.MessageRate, o.MessageBurst))
	if err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	acc := &access{srv: srv}
	// mochi allows a publish or subscription when any hook allows it, so
	// the sinks' rules are checked inside the one hook that decides.
	ah.extra = acc.permits
	b.srv, b.guard, b.auth, b.access = srv, g, ah, acc
	for _, h := range []mqtt.Hook{g, acc, ah} {
		if err := srv.AddHook(h, nil); err != nil {
			return fmt.Errorf("embedded broker: hook %s: %w", h.ID(), err)
		}
	}
	for id, ln := range b.lns {
		var l listeners.Listener = listeners.NewNet(id, ln)
		if id == ListenerWS {
			l = newWSListener(id, ln, o.WebSocketOrigins)
		}
		if err := srv.AddListener(l); err != nil {
			return fmt.Errorf("embedded broker: listener %s: %w", ln.Addr(), err)
		}
	}
	if err := srv.Serve(); err != nil {
		return fmt.Errorf("embedded broker: serve: %w", err)
	}
	return nil
}

// openListeners binds every configured listener, TLS-wrapped where asked.
func openListeners(o Options) (map[string]net.Listener, error) {
	lns := map[string]net.Listener{}
	add := func(id, addr string, secure bool) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("embedded broker: listen %s: %w", addr, err)
		}
		if secure {
			ln = tls.NewListener(ln, o.TLS)
		}
		lns[id] = ln
		return nil
	}
	err := add(ListenerMQTT, o.Listen, o.TLS != nil && o.TLSListen == "")
	if err == nil && o.TLSListen != "" {
		err = add(ListenerTLS, o.TLSListen, true)
	}
	if err == nil && o.WebSocketListen != "" {
		err = add(ListenerWS, o.WebSocketListen, o.WebSocketTLS)
	}
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		return nil, err
	}
	return lns, nil
}

// anonymousOK is the anonymous rule: clients without a user name may
// connect when allow_anonymous is set, or when no users are configured and
// the listener only accepts local clients.
func (b *Broker) anonymousOK(listener string) bool {
	if b.opts.AllowAnonymous {
		return true
	}
	ln, ok := b.lns[listener]
	return ok && len(b.opts.Users) == 0 && loopbackAddr(ln.Addr())
}

func loopbackAddr(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

func (b *Broker) logStart(log *slog.Logger) {
	o := b.opts
	for _, id := range []string{ListenerMQTT, ListenerTLS, ListenerWS} {
		ln, ok := b.lns[id]
		if !ok {
			continue
		}
		secure := id == ListenerTLS || (id == ListenerMQTT && o.TLS != nil && o.TLSListen == "") || (id == ListenerWS && o.WebSocketTLS)
		log.Info("embedded MQTT broker listening", "listener", id, "addr", ln.Addr().String(), "tls", secure,
			"users", len(o.Users), "anonymous", b.anonymousOK(id),
			"max_packet_size", o.MaxPacketSize, "max_clients", o.MaxClients, "max_queued", o.MaxQueued)
		switch {
		case o.AllowAnonymous && !loopbackAddr(ln.Addr()):
			log.Warn("allow_anonymous: the embedded MQTT broker accepts anonymous clients with full access: anyone who reaches it can read every value and write actuators through /set (writes are still validated)", "listener", id, "addr", ln.Addr().String())
		case len(o.Users) == 0 && !b.anonymousOK(id):
			log.Warn("the embedded MQTT broker refuses anonymous clients on a listener that is not loopback-only and no mqtt.users are configured: add users, listen on 127.0.0.1, or set allow_anonymous: true", "listener", id, "addr", ln.Addr().String())
		}
	}
}

// Addr is the host:port a client on this machine can dial; an unspecified
// listen host (":1883", "0.0.0.0:1883") is reported as 127.0.0.1.
func (b *Broker) Addr() string {
	return b.addr(ListenerMQTT)
}

// Addrs maps each listener id (ListenerMQTT, ListenerTLS, ListenerWS) to
// the host:port a client on this machine can dial.
func (b *Broker) Addrs() map[string]string {
	m := map[string]string{}
	for id := range b.lns {
		m[id] = b.addr(id)
	}
	return m
}

func (b *Broker) addr(id string) string {
	ln, ok := b.lns[id]
	if !ok {
		return ""
	}
	a, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return ln.Addr().String()
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
		for _, ln := range b.lns {
			if cerr := ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
				err = fmt.Errorf("embedded broker: close listener: %w", cerr)
			}
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
