package uplink

import (
	"context"
	"fmt"
	"sync"
	"time"

	mqtt3 "github.com/eclipse/paho.mqtt.golang"
)

// link3 is MQTT 3.1.1 over github.com/eclipse/paho.mqtt.golang, whose
// Publish queues in call order and returns a token completed by the PUBACK.
type link3 struct {
	c    mqtt3.Client
	dead chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func (d *dialer) connect3(ctx context.Context) (link, error) {
	l := &link3{dead: make(chan struct{})}
	scheme := "tcp://"
	if d.t.tls {
		scheme = "ssl://"
	}
	o := mqtt3.NewClientOptions().AddBroker(scheme + d.t.addr).SetClientID(d.clientID).
		SetCleanSession(true).SetKeepAlive(d.keepAlive).SetConnectTimeout(10 * time.Second).
		SetAutoReconnect(false).SetConnectRetry(false).SetUsername(d.t.user).SetPassword(d.t.pass).
		SetOrderMatters(false).SetMaxResumePubInFlight(0).
		SetConnectionLostHandler(func(mqtt3.Client, error) { l.kill() })
	if d.t.tls {
		o.SetTLSConfig(d.tls)
	}
	if d.willTopic != "" {
		o.SetBinaryWill(d.willTopic, d.will, 1, true)
	}
	l.c = mqtt3.NewClient(o)
	tok := l.c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("connect %s: %w", d.t.redacted, err)
	}
	if d.subscribe != "" {
		st := l.c.Subscribe(d.subscribe, 1, func(_ mqtt3.Client, m mqtt3.Message) {
			if d.onMessage != nil {
				d.onMessage(m.Topic(), m.Payload())
			}
		})
		if !st.WaitTimeout(10*time.Second) || st.Error() != nil {
			l.close()
			return nil, fmt.Errorf("subscribe %s: %v", d.subscribe, st.Error())
		}
	}
	return l, nil
}

func (l *link3) kill() { l.once.Do(func() { close(l.dead) }) }

func (l *link3) lost() <-chan struct{} { return l.dead }

func (l *link3) send(topic string, payload []byte, _ string, retain bool, done func(error)) error {
	select {
	case <-l.dead:
		return errLost
	default:
	}
	tok := l.c.Publish(topic, 1, retain, payload)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		select {
		case <-tok.Done():
			done(tok.Error())
		case <-l.dead:
			done(errLost)
		}
	}()
	return nil
}

func (l *link3) close() {
	l.c.Disconnect(250)
	l.kill()
	l.wg.Wait()
}
