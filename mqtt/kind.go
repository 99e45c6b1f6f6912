package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/gridbox/gridbox/broker"
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/sink"
)

// Config is the `mqtt:` section (or one item of it as a list): where to
// publish, and the embedded broker's listener and limits.
type Config struct {
	Broker   string `yaml:"broker"` // "embedded" or a URL: mqtt://, mqtts://, mqtt5://, mqtts5://
	Listen   string `yaml:"listen"` // listener of the embedded broker
	Prefix   string `yaml:"prefix"`
	ClientID string `yaml:"client_id"`
	Buffer   int    `yaml:"buffer"`  // values kept while disconnected
	QoS      int    `yaml:"qos"`     // QoS of value messages
	CAFile   string `yaml:"ca_file"` // PEM CAs trusted for mqtts:// and mqtts5:// instead of the system roots

	// Limits of the embedded broker; 0 means the broker package's default.
	MaxPacketSize int `yaml:"max_packet_size"` // bytes; a larger packet disconnects its client
	MaxClients    int `yaml:"max_clients"`     // connections beyond it are refused
	MaxQueued     int `yaml:"max_queued"`      // messages queued per client before drops (counted)

	// Security of the embedded broker (security.go).
	Users          []UserConfig    `yaml:"users"`
	AllowAnonymous bool            `yaml:"allow_anonymous"` // anonymous clients on every listener (warned)
	TLS            TLSConfig       `yaml:"tls"`
	WebSocket      WebSocketConfig `yaml:"websocket"`
	RateLimits     RateLimits      `yaml:"rate_limits"`
}

// Kind is the `mqtt` sink kind: the native topics on the embedded broker or
// an external one; a list of instances publishes to several brokers.
func Kind() sink.Kind {
	return sink.Kind{
		Name: "mqtt", List: true, Default: true,
		NewConfig: func() sink.Config {
			return &Config{Broker: "embedded", Listen: ":1883", Prefix: DefaultPrefix, Buffer: DefaultBuffer}
		},
		New: newSink,
	}
}

// DefaultPrefix is the root of the native topics.
const DefaultPrefix = "gridbox"

// Validate implements sink.Config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	t, err := parseBroker(c.Broker)
	if err != nil {
		add("broker", "%s", strings.TrimPrefix(err.Error(), "broker "))
	}
	if t.embedded {
		if err := config.CheckListen(c.Listen); err != nil {
			add("listen", "%v", err)
		}
	}
	if err := checkPrefix(c.Prefix); err != nil {
		add("prefix", "%v", err)
	}
	if c.CAFile != "" && err == nil && !t.tls {
		add("ca_file", "is set but broker %q does not use TLS (want mqtts:// or mqtts5://)", t.redacted)
	}
	c.validateSecurity(err == nil && t.embedded, add)
	if c.QoS < 0 || c.QoS > 1 {
		add("qos", "%d: want 0 or 1", c.QoS)
	}
	if c.Buffer < 0 {
		add("buffer", "%d: must not be negative", c.Buffer)
	}
	for key, v := range map[string]int{"max_packet_size": c.MaxPacketSize, "max_clients": c.MaxClients, "max_queued": c.MaxQueued} {
		if v < 0 {
			add(key, "%d: must not be negative (0 = default)", v)
		}
	}
	return errs
}

// checkPrefix is the one rule for a topic root.
func checkPrefix(p string) error {
	if p == "" || strings.ContainsAny(p, "+#") || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return fmt.Errorf("%q: want a topic root without wildcards (+, #) or leading/trailing /", p)
	}
	return nil
}

// instance is one running mqtt sink: a publisher and, for broker:
// embedded, the broker it owns.
type instance struct {
	pub    *Publisher
	broker *broker.Broker
	addr   string
	opts   Options // for connections dialed by other sinks (dial.go)
	target target  // the parsed broker
	log    *slog.Logger
	subIDs atomic.Int64 // subscription ids of dialed in-process connections
}

func newSink(_ context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("mqtt: config is %T, want *mqtt.Config", c)
	}
	o := Options{
		Broker: cfg.Broker, Prefix: cfg.Prefix, ClientID: cfg.ClientID, Site: env.Site, Version: env.Version,
		Buffer: cfg.Buffer, QoS: byte(cfg.QoS), CAFile: cfg.CAFile, Log: env.Log, Metrics: env.Metrics,
	}
	if env.Controls != nil {
		o.Controls = env.Controls
	}
	in := &instance{addr: cfg.Broker}
	if cfg.Broker == "embedded" {
		bo, err := cfg.brokerOptions()
		if err != nil {
			return nil, err
		}
		b, err := broker.Start(bo, env.Log)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
		}
		if env.Metrics != nil {
			if err := env.Metrics.Register(b.Collector()); err != nil {
				b.Close()
				return nil, fmt.Errorf("embedded broker metrics: %w", err)
			}
		}
		in.broker, in.addr, o.Embedded = b, b.Addr(), b
	}
	pub, err := New(env.Bus, o)
	if err != nil {
		in.Close()
		return nil, err
	}
	in.pub, in.opts, in.target, in.log = pub, pub.o, pub.t, pub.o.Log
	return in, nil
}

func (in *instance) Run(ctx context.Context, sub *bus.Subscription) error {
	return in.pub.Run(ctx, sub)
}

func (in *instance) Close() error {
	if in.broker != nil {
		return in.broker.Close()
	}
	return nil
}

// Addr is the embedded broker's address, or the external broker's URL.
func (in *instance) Addr() string { return in.addr }
