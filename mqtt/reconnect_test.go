package mqtt

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

// TestReconnect kills a private Mosquitto, publishes meanwhile, restarts it
// on the same port and checks the publisher rebuilt the retained state by
// itself (a restarted Mosquitto without persistence has none).
func TestReconnect(t *testing.T) {
	for _, scheme := range []string{"mqtt", "mqtt5"} {
		t.Run(scheme, func(t *testing.T) { testReconnect(t, scheme) })
	}
}

func testReconnect(t *testing.T, scheme string) {
	m := startMosquitto(t)
	b := newBus(t, &device{})
	b.Publish(model.Value{Device: "room", Name: "temperature", Value: 20.0, Time: 1000, Quality: model.Good})
	r := startPublisher(t, b, Options{Broker: scheme + "://" + m.addr(), Buffer: 5})
	w := watch(t, m.addr(), "gridbox/#")
	w.waitExact(t, "gridbox/room/temperature", `{"value":20,"timestamp":1000,"quality":"good"}`)
	eventually(t, "connected gauge 1", func() bool { return r.metric("connected") == 1 })

	m.kill()
	eventually(t, "the publisher to notice the outage", func() bool { return r.metric("connected") == 0 })
	for i := 1; i <= 12; i++ {
		b.Publish(model.Value{Device: "room", Name: "temperature", Value: float64(100 + i), Time: int64(1000 + i), Quality: model.Good})
	}
	// Buffer 5: of 12 values, the 7 oldest are dropped and counted.
	eventually(t, "7 values dropped from the full buffer", func() bool { return r.metric("dropped", dropBufferFull) == 7 })

	m.start()
	eventually(t, "a reconnect", func() bool { return r.metric("reconnects") == 1 && r.metric("connected") == 1 })
	// The newest value is published last but one in the reconnect sequence;
	// once it is there, a fresh subscriber must get everything as retained.
	watch(t, m.addr(), "gridbox/#").waitExact(t, "gridbox/room/temperature", `{"value":112,"timestamp":1012,"quality":"good"}`)
	fresh := watch(t, m.addr(), "gridbox/#")
	want := map[string]string{
		"gridbox/room/temperature":    `{"value":112,"timestamp":1012,"quality":"good"}`,
		"gridbox/$state":              `{"online":true,"version":"test"}`,
		"gridbox/room/$state":         `{"online":true,"last_seen":1700000000000}`,
		"gridbox/$meta/room/setpoint": `{"kind":"actuator","format":"continuous_numeric","unit":"°C","min":15,"max":30,"role":"setpoint"}`,
	}
	for topic, payload := range want {
		if got := fresh.waitExact(t, topic, payload); !got.retained {
			t.Errorf("%s not retained after reconnect", topic)
		}
	}
	// The /set subscription is renewed at the end of the reconnect; retry until answered.
	res := fresh.requestEventually(t, "gridbox/room/setpoint/set", "25")
	if res["ok"] != true || res["value"] != 25.0 {
		t.Errorf("write after reconnect answered %v", res)
	}
}

// requestEventually repeats a write until it is answered (for the moment
// right after a reconnect, when the publisher may not have resubscribed yet).
func (w *watcher) requestEventually(t testing.TB, topic, payload string) map[string]any {
	t.Helper()
	rt := topic + "/result"
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n := w.count(rt)
		w.publish(t, topic, payload, false)
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if w.count(rt) > n {
				return decode(t, w.waitPayload(t, rt, func(msg) bool { return true }).payload)
			}
		}
	}
	t.Fatalf("no answer on %s", rt)
	return nil
}

// TestLastWill cuts the publisher's TCP connection (as a network failure
// would): the broker publishes the last will {"online": false}, and the
// publisher reconnects and announces itself online again.
func TestLastWill(t *testing.T) {
	for _, scheme := range []string{"mqtt", "mqtt5"} {
		t.Run(scheme, func(t *testing.T) {
			m := startMosquitto(t)
			px := startProxy(t, m.addr())
			r := startPublisher(t, newBus(t, &device{}), Options{Broker: scheme + "://" + px.addr()})
			w := watch(t, m.addr(), "gridbox/$state")
			w.waitExact(t, "gridbox/$state", `{"online":true,"version":"test"}`)
			px.cut()
			eventually(t, "the last will", func() bool { return w.seen("gridbox/$state", `{"online":false}`) })
			eventually(t, "a reconnect", func() bool { return r.metric("reconnects") >= 1 })
			fresh := watch(t, m.addr(), "gridbox/$state")
			fresh.waitExact(t, "gridbox/$state", `{"online":true,"version":"test"}`)
		})
	}
}

// seen reports whether topic ever carried payload.
func (w *watcher) seen(topic, payload string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range w.all[topic] {
		if m.payload == payload {
			return true
		}
	}
	return false
}

// proxy forwards TCP connections to a broker and can cut them all.
type proxy struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t testing.TB, to string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, to: to}
	p.wg.Go(p.accept)
	t.Cleanup(func() { ln.Close(); p.cut(); p.wg.Wait() })
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.to)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Go(func() { io.Copy(up, c); up.Close() })
		p.wg.Go(func() { io.Copy(c, up); c.Close() })
	}
}

// cut closes every forwarded connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestBrokerDownAtStart starts the publisher before its broker: values are
// buffered, Run keeps trying, and once the broker is up the state arrives.
// Stopping while the broker is unreachable returns too.
func TestBrokerDownAtStart(t *testing.T) {
	for _, scheme := range []string{"mqtt", "mqtt5"} {
		t.Run(scheme, func(t *testing.T) {
			m := startMosquitto(t)
			m.kill() // keep the port, lose the broker
			b := newBus(t, &device{})
			r := startPublisher(t, b, Options{Broker: scheme + "://" + m.addr()})
			b.Publish(model.Value{Device: "room", Name: "temperature", Value: 18.5, Time: 7, Quality: model.Good})
			// A second publisher, stopped while its broker is unreachable.
			other := startPublisher(t, newBus(t, nil), Options{Broker: scheme + "://" + m.addr(), ClientID: "never"})
			m.start()
			eventually(t, "the first connection", func() bool { return r.metric("connected") == 1 })
			w := watch(t, m.addr(), "gridbox/room/temperature")
			w.waitExact(t, "gridbox/room/temperature", `{"value":18.5,"timestamp":7,"quality":"good"}`)
			if r.metric("reconnects") != 0 {
				t.Errorf("first connection counted as reconnect")
			}
			m.kill()
			eventually(t, "the outage to be noticed", func() bool { return other.metric("connected") == 0 })
			other.stop(t) // must return although the broker is gone
		})
	}
}
