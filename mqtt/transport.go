package mqtt

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// message is an incoming MQTT message, independent of the client library.
type message struct {
	topic    string
	payload  []byte
	retained bool
}

// will is the retained message the broker publishes when the link dies.
type will struct {
	topic   string
	payload []byte
}

// hooks are the transport's callbacks. They run on the transport's
// goroutines and must not block.
type hooks struct {
	up      func()
	down    func(error)
	failed  func(error) // a connection attempt failed
	message func(message)
}

// transport hides the broker client: mochi's inline client, paho (MQTT 3.1.1)
// or autopaho (MQTT 5). Implementations are safe for concurrent use.
type transport interface {
	// start connects in the background and keeps reconnecting until stop.
	start(h hooks) error
	// publish sends one message; an error means it was not handed over.
	// It waits at most until ctx is done (and never longer than requestTimeout).
	publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error
	// subscribe (re)subscribes filter at QoS 1; messages go to hooks.message.
	subscribe(filter string) error
	// stop disconnects cleanly (no last will) and ends every goroutine.
	stop(ctx context.Context) error
}

// inline publishes through the embedded broker's inline client: no TCP hop.
type inline struct {
	srv    *mochi.Server
	subID  int
	h      hooks
	filter atomic.Pointer[string]
}

// errInlineDisabled is returned when the embedded server has no inline client.
var errInlineDisabled = errors.New("embedded broker has no inline client")

func newInline(srv *mochi.Server) (*inline, error) {
	if srv == nil || !srv.Options.InlineClient {
		return nil, errInlineDisabled
	}
	return &inline{srv: srv, subID: 1}, nil
}

func (t *inline) start(h hooks) error {
	t.h = h
	h.up() // the in-process broker is always reachable
	return nil
}

func (t *inline) publish(_ context.Context, topic string, payload []byte, qos byte, retain bool) error {
	if err := t.srv.Publish(topic, payload, retain, qos); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

func (t *inline) subscribe(filter string) error {
	if old := t.filter.Load(); old != nil {
		_ = t.srv.Unsubscribe(*old, t.subID)
	}
	t.filter.Store(&filter)
	err := t.srv.Subscribe(filter, t.subID, func(_ *mochi.Client, _ packets.Subscription, pk packets.Packet) {
		t.h.message(message{topic: pk.TopicName, payload: pk.Payload, retained: pk.FixedHeader.Retain})
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", filter, err)
	}
	return nil
}

func (t *inline) stop(context.Context) error {
	if f := t.filter.Load(); f != nil {
		if err := t.srv.Unsubscribe(*f, t.subID); err != nil {
			return fmt.Errorf("unsubscribe %s: %w", *f, err)
		}
	}
	return nil
}
