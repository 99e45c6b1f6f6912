package mqtt

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Reconnect and request timing shared by both external clients.
const (
	maxBackoff     = 5 * time.Second  // longest wait between reconnect attempts
	connectTimeout = 10 * time.Second // one connection attempt
	requestTimeout = 10 * time.Second // one subscribe or QoS 1 publish
	// publishWait bounds how long paho's Publish waits for its writer. On
	// a connection that dies under it, it waits that long before failing,
	// and the bus queue fills meanwhile: 10 s overflowed it in bench/soak.
	publishWait = 2 * time.Second
	keepAlive   = 30 // seconds
)

// v311 talks MQTT 3.1.1 through github.com/eclipse/paho.mqtt.golang.
type v311 struct {
	t        target
	clientID string
	w        will
	cli      paho.Client
	h        hooks
	last     atomic.Pointer[paho.Token] // the last QoS 1 publish in flight, awaited by stop
}

func newV311(t target, clientID string, w will) *v311 {
	return &v311{t: t, clientID: clientID, w: w}
}

func (c *v311) start(h hooks) error {
	c.h = h
	scheme := "tcp://"
	if c.t.tls {
		scheme = "ssl://"
	}
	o := paho.NewClientOptions().
		AddBroker(scheme + c.t.addr).
		SetClientID(c.clientID).
		SetCleanSession(true).
		SetStore(noStore{}).
		SetKeepAlive(keepAlive * time.Second).
		SetConnectTimeout(connectTimeout).
		SetWriteTimeout(publishWait).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(maxBackoff).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetOnConnectHandler(func(paho.Client) { h.up() }).
		SetConnectionLostHandler(func(_ paho.Client, err error) { h.down(err) }).
		SetConnectionNotificationHandler(func(_ paho.Client, n paho.ConnectionNotification) {
			if f, ok := n.(paho.ConnectionNotificationFailed); ok {
				h.failed(f.Reason)
			}
		})
	if c.w.topic != "" {
		o.SetBinaryWill(c.w.topic, c.w.payload, 1, true)
	}
	if c.t.tls {
		o.SetTLSConfig(c.t.tlsCfg)
	}
	if c.t.user != "" {
		o.SetUsername(c.t.user).SetPassword(c.t.pass)
	}
	c.cli = paho.NewClient(o)
	c.cli.Connect() // with ConnectRetry the token completes only once connected; hooks.up reports it
	return nil
}

func (c *v311) publish(_ context.Context, topic string, payload []byte, qos byte, retain bool) error { // never waits
	if !c.cli.IsConnectionOpen() { // while reconnecting paho would swallow QoS 0 messages
		return fmt.Errorf("publish %s: %w", topic, paho.ErrNotConnected)
	}
	tok := c.cli.Publish(topic, qos, retain, payload)
	select {
	case <-tok.Done(): // immediate failures (not connected) complete the token at once
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish %s: %w", topic, err)
		}
	default: // in flight; paho delivers QoS 1 and retries it itself
		if qos > 0 {
			c.last.Store(&tok)
		}
	}
	return nil
}

func (c *v311) subscribe(filter string) error {
	tok := c.cli.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		c.h.message(message{topic: m.Topic(), payload: m.Payload(), retained: m.Retained()})
	})
	if !tok.WaitTimeout(requestTimeout) {
		return fmt.Errorf("subscribe %s: no SUBACK within %s", filter, requestTimeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("subscribe %s: %w", filter, err)
	}
	return nil
}

func (c *v311) stop(ctx context.Context) error {
	quiesce := uint(250)
	if d, ok := ctx.Deadline(); ok {
		quiesce = uint(max(0, min(time.Until(d), time.Second)) / time.Millisecond)
	}
	if tok := c.last.Load(); tok != nil { // paho's DISCONNECT would overtake messages still queued
		(*tok).WaitTimeout(time.Duration(quiesce) * time.Millisecond)
	}
	c.cli.Disconnect(quiesce) // waits for in-flight work, then DISCONNECT: no last will
	return nil
}

// noStore keeps nothing: after a reconnect paho must not resend old
// messages, because the publisher republishes the current state itself (an
// old value resent late would overwrite a newer retained one). It also
// avoids paho's data race when resuming stored messages (paho.mqtt.golang#703).
type noStore struct{}

func (noStore) Open()                             {}
func (noStore) Put(string, packets.ControlPacket) {}
func (noStore) Get(string) packets.ControlPacket  { return nil }
func (noStore) All() []string                     { return nil }
func (noStore) Del(string)                        {}
func (noStore) Close()                            {}
func (noStore) Reset()                            {}
