package uplink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session"
	"github.com/eclipse/paho.golang/paho/session/state"
)

// errLost is what a message in flight gets when its connection dies.
var errLost = errors.New("connection lost before PUBACK")

// link is one connection to the remote broker. send hands a QoS 1 message
// over in call order and returns at once; done is called exactly once, with
// nil on the remote's PUBACK or an error. Several messages are in flight.
type link interface {
	send(topic string, payload []byte, contentType string, retain bool, done func(error)) error
	lost() <-chan struct{}
	close()
}

// dialer opens links to one remote.
type dialer struct {
	t         target
	tls       *tls.Config
	clientID  string
	keepAlive time.Duration
	willTopic string
	will      []byte
	subscribe string                       // filter subscribed at QoS 1 after connecting ("" none)
	onMessage func(topic string, p []byte) // must not block
}

func tlsConfig(c *Config) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file/key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func (d *dialer) connect(ctx context.Context) (link, error) {
	if d.t.v5 {
		return d.connect5(ctx)
	}
	return d.connect3(ctx)
}

func (d *dialer) dial(ctx context.Context) (net.Conn, error) {
	nd := &net.Dialer{Timeout: 10 * time.Second}
	if d.t.tls {
		td := &tls.Dialer{NetDialer: nd, Config: d.tls}
		return td.DialContext(ctx, "tcp", d.t.addr)
	}
	return nd.DialContext(ctx, "tcp", d.t.addr)
}

// link5 is MQTT 5 over github.com/eclipse/paho.golang. Publishing uses
// paho's asynchronous send; the session wrapper below reports each PUBACK.
type link5 struct {
	c    *paho.Client
	sess *ackSession
	mu   sync.Mutex
	dead chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// ackSession hands the PUBACK of the message being sent to its done function.
type ackSession struct {
	session.SessionManager
	l     *link5
	next  func(error) // set by send (under link5.mu) for the packet being added
	added bool
}

func (s *ackSession) AddToSession(ctx context.Context, p session.Packet, resp chan<- packets.ControlPacket) error {
	done := s.next
	if done == nil {
		return s.SessionManager.AddToSession(ctx, p, resp)
	}
	mine := make(chan packets.ControlPacket, 1)
	if err := s.SessionManager.AddToSession(ctx, p, mine); err != nil {
		return err
	}
	s.added = true
	s.l.wg.Add(1)
	go func() {
		defer s.l.wg.Done()
		select {
		case cp := <-mine:
			select {
			case resp <- cp:
			default:
			}
			done(pubackErr(cp))
		case <-s.l.dead:
			done(errLost)
		}
	}()
	return nil
}

func pubackErr(cp packets.ControlPacket) error {
	if cp.Type != packets.PUBACK {
		return errLost
	}
	if pa, ok := cp.Content.(*packets.Puback); ok && pa.ReasonCode >= 0x80 {
		return fmt.Errorf("PUBACK reason %d: %s", pa.ReasonCode, pa.Reason())
	}
	return nil
}

func (d *dialer) connect5(ctx context.Context) (link, error) {
	conn, err := d.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", d.t.redacted, err)
	}
	l := &link5{dead: make(chan struct{})}
	l.sess = &ackSession{SessionManager: state.NewInMemory(), l: l}
	l.c = paho.NewClient(paho.ClientConfig{
		ClientID: d.clientID, Conn: conn, Session: l.sess,
		OnClientError:      func(error) { l.kill() },
		OnServerDisconnect: func(*paho.Disconnect) { l.kill() },
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			if d.onMessage != nil {
				d.onMessage(r.Packet.Topic, r.Packet.Payload)
			}
			return true, nil
		}},
	})
	cp := &paho.Connect{
		ClientID: d.clientID, KeepAlive: uint16(d.keepAlive / time.Second), CleanStart: true,
		Username: d.t.user, UsernameFlag: d.t.user != "", Password: []byte(d.t.pass), PasswordFlag: d.t.pass != "",
	}
	if d.willTopic != "" {
		cp.WillMessage = &paho.WillMessage{Topic: d.willTopic, Payload: d.will, QoS: 1, Retain: true}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := l.c.Connect(cctx, cp); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect %s: %w", d.t.redacted, err)
	}
	go func() { // ends when the client is done (it closes on any error)
		<-l.c.Done()
		l.kill()
	}()
	if d.subscribe != "" {
		if _, err := l.c.Subscribe(cctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: d.subscribe, QoS: 1}}}); err != nil {
			l.close()
			return nil, fmt.Errorf("subscribe %s: %w", d.subscribe, err)
		}
	}
	return l, nil
}

func (l *link5) kill() { l.once.Do(func() { close(l.dead) }) }

func (l *link5) lost() <-chan struct{} { return l.dead }

func (l *link5) send(topic string, payload []byte, ct string, retain bool, done func(error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.dead:
		return errLost
	default:
	}
	p := &paho.Publish{Topic: topic, Payload: payload, QoS: 1, Retain: retain}
	if ct != "" {
		p.Properties = &paho.PublishProperties{ContentType: ct}
	}
	l.sess.next, l.sess.added = done, false
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-l.dead:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := l.c.PublishWithOptions(ctx, p, paho.PublishOptions{Method: paho.PublishMethod_AsyncSend})
	cancel()
	added := l.sess.added
	l.sess.next = nil
	if added {
		return nil // done will be called
	}
	if err == nil {
		err = errLost
	}
	return fmt.Errorf("publish %s: %w", topic, err)
}

func (l *link5) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = l.c.Disconnect(&paho.Disconnect{ReasonCode: 0})
	select {
	case <-l.c.Done():
	case <-ctx.Done():
	}
	l.kill()
	l.wg.Wait()
}
