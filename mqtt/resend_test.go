package mqtt

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gridbox/gridbox/model"
)

// TestResendAfterLostConnection is the soak's finding (bench/soak): values
// the client had handed over just before the broker went away were lost
// without being counted. A proxy swallows what the publisher sends (as a
// broker that is going down does not read it any more), then cuts the
// connection: every swallowed value must arrive after the reconnect.
func TestResendAfterLostConnection(t *testing.T) {
	for _, scheme := range []string{"mqtt", "mqtt5"} {
		t.Run(scheme, func(t *testing.T) {
			m := startMosquitto(t)
			px := startSwallower(t, m.addr())
			b := newBus(t, &device{})
			r := startPublisher(t, b, Options{Broker: scheme + "://" + px.addr()})
			w := watch(t, m.addr(), "gridbox/room/temperature")
			temp := func(i int) model.Value {
				return model.Value{Device: "room", Name: "temperature", Value: float64(i), Time: int64(1000 + i), Quality: model.Good}
			}
			b.Publish(temp(0))
			w.waitExact(t, "gridbox/room/temperature", `{"value":0,"timestamp":1000,"quality":"good"}`)

			px.swallow.Store(true)
			before := r.metric("published")
			for i := 1; i <= 5; i++ {
				b.Publish(temp(i))
			}
			eventually(t, "5 values handed to the client", func() bool { return r.metric("published") >= before+5 })
			px.cut() // the publisher's link breaks; the swallowed values never reached Mosquitto
			eventually(t, "a reconnect", func() bool { return r.metric("reconnects") == 1 && r.metric("connected") == 1 })
			for i := 1; i <= 5; i++ {
				payload := fmt.Sprintf(`{"value":%d,"timestamp":%d,"quality":"good"}`, i, 1000+i)
				eventually(t, payload+" after the reconnect", func() bool { return w.seen("gridbox/room/temperature", payload) })
			}
			if got := r.metric("resent"); got < 5 {
				t.Errorf("gridbox_mqtt_resent_total = %v, want ≥ 5", got)
			}
		})
	}
}

// swallower forwards TCP connections to a broker; while swallow is set it
// drops what clients send instead of forwarding it. cut closes every
// connection and forwards normally again.
type swallower struct {
	ln      net.Listener
	to      string
	swallow atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func startSwallower(t testing.TB, to string) *swallower {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &swallower{ln: ln, to: to}
	s.wg.Go(s.accept)
	t.Cleanup(func() { ln.Close(); s.cut(); s.wg.Wait() })
	return s
}

func (s *swallower) addr() string { return s.ln.Addr().String() }

func (s *swallower) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", s.to)
		if err != nil {
			c.Close()
			continue
		}
		s.mu.Lock()
		s.conns = append(s.conns, c, up)
		s.mu.Unlock()
		s.wg.Go(func() { s.forward(up, c); up.Close() })
		s.wg.Go(func() { io.Copy(c, up); c.Close() })
	}
}

// forward copies client bytes to the broker unless swallowing.
func (s *swallower) forward(dst, src net.Conn) {
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 && !s.swallow.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *swallower) cut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.swallow.Store(false)
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}
