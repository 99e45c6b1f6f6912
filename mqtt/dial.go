package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/gridbox/gridbox/broker"
	"github.com/gridbox/gridbox/sink"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// The mqtt sink implements sink.MQTT for the sinks opened after it.
var _ sink.MQTT = (*instance)(nil)

// firstDialSubID is the first subscription id of dialed in-process
// connections; the publisher's own uses 1.
const firstDialSubID = 1000

// Prefix implements sink.MQTT.
func (in *instance) Prefix() string { return in.opts.Prefix }

// GuardMQTT implements sink.MQTT.
func (in *instance) GuardMQTT(p broker.Policy) (func(), bool) {
	if in.broker == nil {
		return nil, false
	}
	return in.broker.AddPolicy(p), true
}

// DialMQTT implements sink.MQTT: an in-process client of the embedded
// broker, or one more connection to the external one with client id
// "<client_id>-<name>".
func (in *instance) DialMQTT(name string, onUp func(), onMessage func(string, []byte, bool)) (sink.MQTTConn, error) {
	c := &conn{onUp: onUp, upCh: make(chan struct{}, 1), stop: make(chan struct{}), log: in.log.With("connection", name)}
	o, err := in.opts.withDefaults()
	if err != nil {
		return nil, err
	}
	switch {
	case in.broker != nil:
		c.tr = &inlineMulti{srv: in.broker.Server(), ids: &in.subIDs}
	case in.target.v5:
		c.tr = newV5(in.target, o.ClientID+"-"+name, will{})
	default:
		c.tr = newV311(in.target, o.ClientID+"-"+name, will{})
	}
	c.wg.Add(1)
	go c.run()
	h := hooks{
		up:      c.signalUp,
		down:    func(err error) { c.linkUp.Store(false); c.log.Warn("mqtt connection lost; reconnecting", "err", err) },
		failed:  func(err error) { c.log.Debug("mqtt connection attempt failed", "err", err) },
		message: func(m message) { onMessage(m.topic, m.payload, m.retained) },
	}
	if err := c.tr.start(h); err != nil {
		close(c.stop)
		c.wg.Wait()
		return nil, fmt.Errorf("mqtt connection %s: %w", name, err)
	}
	return c, nil
}

// conn is a dialed connection: it renews its subscriptions after every
// (re)connect, then calls onUp.
type conn struct {
	tr     transport
	onUp   func()
	log    *slog.Logger
	upCh   chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	linkUp atomic.Bool

	mu      sync.Mutex // serialises subscribing
	filters []string
	closed  bool
}

func (c *conn) signalUp() {
	select {
	case c.upCh <- struct{}{}:
	default:
	}
}

// run owns the (re)subscribing after each connect until Close.
func (c *conn) run() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.upCh:
		}
		c.mu.Lock()
		c.linkUp.Store(true)
		for _, f := range c.filters {
			if err := c.tr.subscribe(f); err != nil {
				c.log.Warn("mqtt resubscribe failed", "filter", f, "err", err)
			}
		}
		c.mu.Unlock()
		if c.onUp != nil {
			c.onUp()
		}
	}
}

func (c *conn) Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	return c.tr.publish(ctx, topic, payload, qos, retain)
}

func (c *conn) Subscribe(filter string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("subscribe %s: connection closed", filter)
	}
	c.filters = append(c.filters, filter)
	if !c.linkUp.Load() {
		return nil // subscribed on connect
	}
	return c.tr.subscribe(filter)
}

func (c *conn) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	c.wg.Wait()
	return c.tr.stop(ctx)
}

// inlineMulti is an in-process client of the embedded broker with any
// number of subscriptions, each under its own subscription id.
type inlineMulti struct {
	srv  *mochi.Server
	ids  *atomic.Int64
	h    hooks
	mu   sync.Mutex
	subs map[string]int
}

func (t *inlineMulti) start(h hooks) error {
	t.h = h
	h.up()
	return nil
}

func (t *inlineMulti) publish(_ context.Context, topic string, payload []byte, qos byte, retain bool) error {
	if err := t.srv.Publish(topic, payload, retain, qos); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

func (t *inlineMulti) subscribe(filter string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.subs[filter]; ok {
		return nil
	}
	id := int(t.ids.Add(1)) + firstDialSubID
	err := t.srv.Subscribe(filter, id, func(_ *mochi.Client, _ packets.Subscription, pk packets.Packet) {
		t.h.message(message{topic: pk.TopicName, payload: pk.Payload, retained: pk.FixedHeader.Retain})
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", filter, err)
	}
	if t.subs == nil {
		t.subs = map[string]int{}
	}
	t.subs[filter] = id
	return nil
}

func (t *inlineMulti) stop(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for f, id := range t.subs {
		if err := t.srv.Unsubscribe(f, id); err != nil {
			return fmt.Errorf("unsubscribe %s: %w", f, err)
		}
	}
	t.subs = nil
	return nil
}
