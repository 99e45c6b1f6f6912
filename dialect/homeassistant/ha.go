package homeassistant

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// Config is the `dialects: homeassistant:` section.
type Config struct {
	Prefix string `yaml:"prefix"` // discovery prefix; default homeassistant
}

// DefaultPrefix is Home Assistant's default discovery prefix.
const DefaultPrefix = "homeassistant"

// Validate reports problems with paths relative to the section.
func (c *Config) Validate() []config.FieldError {
	if p := c.Prefix; strings.ContainsAny(p, "+#") || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return []config.FieldError{config.Errf("prefix", "%q: want a topic root without wildcards (+, #) or leading/trailing /", p)}
	}
	return nil
}

// Counter counts one kind of message of a dialect (published, refused, …).
type Counter func(what string)

// Dialect publishes the discovery configs. Run owns its state.
type Dialect struct {
	bus    *bus.Bus
	mq     sink.MQTT
	prefix string
	site   string
	log    *slog.Logger
	count  Counter
	again  chan struct{}     // republish everything: (re)connect or HA's birth message
	sent   map[string]string // datapoint key → config topic published
}

// New prepares the dialect; Run connects.
func New(b *bus.Bus, mq sink.MQTT, c Config, site string, log *slog.Logger, count Counter) *Dialect {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	return &Dialect{bus: b, mq: mq, prefix: c.Prefix, site: site, log: log, count: count,
		again: make(chan struct{}, 1), sent: map[string]string{}}
}

func (d *Dialect) signal() {
	select {
	case d.again <- struct{}{}:
	default:
	}
}

// onMessage takes Home Assistant's status: "online" (its birth message,
// after a restart) asks for every config again.
func (d *Dialect) onMessage(topic string, payload []byte, _ bool) {
	if topic == d.prefix+"/status" && strings.TrimSpace(string(payload)) == "online" {
		d.count("birth")
		d.signal()
	}
}

// Run publishes configs and follows the catalog until ctx is done.
func (d *Dialect) Run(ctx context.Context, sub *bus.Subscription) error {
	conn, err := d.mq.DialMQTT("homeassistant", d.signal, d.onMessage)
	if err != nil {
		return fmt.Errorf("homeassistant: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if err := conn.Subscribe(d.prefix + "/status"); err != nil {
		return fmt.Errorf("homeassistant: %w", err)
	}
	d.log.Info("home assistant discovery started", "prefix", d.prefix)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.again:
			d.publishAll(ctx, conn)
		case <-sub.Values: // the values go out on the native topics
		case <-sub.States:
		case e := <-sub.Events:
			d.event(ctx, conn, e)
		}
	}
}

func (d *Dialect) publishAll(ctx context.Context, conn sink.MQTTConn) {
	g := Gateway(Names{Prefix: d.prefix, Native: d.mq.Prefix(), Site: d.site})
	d.send(ctx, conn, g.Topic, g.Payload())
	for _, p := range d.bus.Datapoints() {
		d.publish(ctx, conn, p.Datapoint)
	}
}

func (d *Dialect) event(ctx context.Context, conn sink.MQTTConn, e bus.Event) {
	switch e.Type {
	case bus.DatapointAdded:
		d.publish(ctx, conn, e.Point)
	case bus.DatapointRemoved:
		topic, ok := d.sent[e.Point.Key()]
		if !ok {
			return
		}
		delete(d.sent, e.Point.Key())
		d.send(ctx, conn, topic, nil)
	}
}

func (d *Dialect) publish(ctx context.Context, conn sink.MQTTConn, dp model.Datapoint) {
	n := Names{Prefix: d.prefix, Native: d.mq.Prefix(), Site: d.site}
	if st, ok := d.bus.Device(dp.Device); ok {
		n.Driver = st.Driver
	}
	e := Discovery(n, dp)
	if old, ok := d.sent[dp.Key()]; ok && old != e.Topic {
		d.send(ctx, conn, old, nil) // the component changed: remove the old entity
	}
	d.sent[dp.Key()] = e.Topic
	d.send(ctx, conn, e.Topic, e.Payload())
}

func (d *Dialect) send(ctx context.Context, conn sink.MQTTConn, topic string, payload []byte) {
	if err := conn.Publish(ctx, topic, payload, 1, true); err != nil {
		d.count("failed")
		d.log.Warn("discovery config not published", "topic", topic, "err", err)
		return
	}
	d.count("published")
}
