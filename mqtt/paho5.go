package mqtt

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// v5 talks MQTT 5 through github.com/eclipse/paho.golang's autopaho, which
// reconnects by itself.
type v5 struct {
	t        target
	clientID string
	w        will
	cm       *autopaho.ConnectionManager
	stopCtx  context.CancelFunc
}

func newV5(t target, clientID string, w will) *v5 {
	return &v5{t: t, clientID: clientID, w: w}
}

func (c *v5) start(h hooks) error {
	u := &url.URL{Scheme: "mqtt", Host: c.t.addr}
	if c.t.tls {
		u.Scheme = "mqtts"
	}
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		TlsCfg:                        c.t.tlsCfg,
		KeepAlive:                     keepAlive,
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              autopaho.NewExponentialBackoff(250*time.Millisecond, maxBackoff, time.Second, 2),
		ConnectTimeout:                connectTimeout,
		OnConnectionUp:                func(*autopaho.ConnectionManager, *paho.Connack) { h.up() },
		OnConnectionDown:              func() bool { h.down(nil); return true },
		OnConnectError:                h.failed,
		ConnectUsername:               c.t.user,
		ConnectPassword:               []byte(c.t.pass),
		ClientConfig: paho.ClientConfig{
			ClientID: c.clientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
				h.message(message{topic: r.Packet.Topic, payload: r.Packet.Payload, retained: r.Packet.Retain})
				return true, nil
			}},
		},
	}
	if c.w.topic != "" {
		cfg.WillMessage = &paho.WillMessage{Topic: c.w.topic, Payload: c.w.payload, QoS: 1, Retain: true}
	}
	// The connection has its own context: the publisher cancels it only
	// after it has published its offline state.
	ctx, cancel := context.WithCancel(context.Background())
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		cancel()
		return fmt.Errorf("mqtt5 %s: %w", c.t.redacted, err)
	}
	c.cm, c.stopCtx = cm, cancel
	return nil
}

func (c *v5) publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := c.cm.Publish(ctx, &paho.Publish{Topic: topic, Payload: payload, QoS: qos, Retain: retain})
	if err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// subscribe asks for retain-as-published so that a retained /set stays
// recognisable even when it arrives live.
func (c *v5) subscribe(filter string) error {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	_, err := c.cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1, RetainAsPublished: true}}})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", filter, err)
	}
	return nil
}

func (c *v5) stop(ctx context.Context) error {
	defer c.stopCtx()
	if err := c.cm.Disconnect(ctx); err != nil {
		return fmt.Errorf("mqtt5 disconnect: %w", err)
	}
	return nil
}
