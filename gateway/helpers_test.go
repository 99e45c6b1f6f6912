package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/sim"
)

// requireTool returns the path of an outside program (skip or fail when missing).
func requireTool(t *testing.T, name string) string { return testenv.Tool(t, name) }

// startSim starts a simulator on a free port (or on addr) and stops it at test end.
func startSim(t *testing.T, name, addr string) *sim.Server {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s, err := sim.Start(context.Background(), name, addr, 0, nil)
	if err != nil {
		t.Fatalf("sim %s: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// freePort returns a TCP address on loopback that nothing listens on.
func freePort(t *testing.T) string { return testenv.FreeAddr(t) }

type testDevice struct{ id, profile, addr string }

// startGateway runs a gateway with the given devices and returns it; it is
// stopped (and checked to stop) at test end.
func startGateway(t *testing.T, broker string, devs []testDevice, dir string) *gateway.Gateway {
	gw, _ := startStoppable(t, broker, devs, dir)
	return gw
}

// startStoppable is startGateway with a stop function that may be called
// before the test ends.
func startStoppable(t *testing.T, broker string, devs []testDevice, dir string) (*gateway.Gateway, func()) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "site: test\nhttp: {listen: \"127.0.0.1:0\", auth: none}\n")
	fmt.Fprintf(&b, "mqtt: {broker: %q, listen: \"127.0.0.1:0\"}\nstore: {path: %q, flush_interval: 100ms}\ndevices:\n", broker, dir)
	for _, d := range devs {
		fmt.Fprintf(&b, "  - {id: %s, driver: modbus, url: \"tcp://%s\", profile: %s, interval: 500ms, timeout: 300ms, retries: 0, write_gap: 100ms}\n", d.id, d.addr, d.profile)
	}
	return startConfig(t, b.String(), gateway.Options{})
}

// startConfig runs a gateway from YAML with extra options (drivers and sink
// kinds of a test); it is stopped at test end, or by the returned function.
func startConfig(t *testing.T, src string, opts gateway.Options) (*gateway.Gateway, func()) {
	t.Helper()
	cfg, err := config.Parse([]byte(src), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v\n%s", err, src)
	}
	opts.Version, opts.Profiles = "test", profile.Builtin()
	gw, err := gateway.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := gw.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			done := make(chan error, 1)
			go func() { done <- gw.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("gateway stopped with: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("gateway did not stop within 10 s")
			}
		})
	}
	t.Cleanup(stop)
	return gw, stop
}

// watcher is an MQTT client that remembers the last message per topic.
type watcher struct {
	mu       sync.Mutex
	last     map[string]msg
	retained map[string]bool // topics ever delivered with the retained flag
	c        paho.Client
}

type msg struct {
	payload  string
	retained bool
}

func watch(t *testing.T, brokerURL, filter string) *watcher {
	t.Helper()
	w := &watcher{last: map[string]msg{}, retained: map[string]bool{}}
	opts := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(fmt.Sprintf("watch-%d", time.Now().UnixNano())).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond)
	opts.SetOnConnectHandler(func(c paho.Client) {
		c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
			w.mu.Lock()
			w.last[m.Topic()] = msg{string(m.Payload()), m.Retained()}
			w.retained[m.Topic()] = w.retained[m.Topic()] || m.Retained()
			w.mu.Unlock()
		})
	})
	w.c = paho.NewClient(opts)
	if tok := w.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher connect %s: %v", brokerURL, tok.Error())
	}
	t.Cleanup(func() { w.c.Disconnect(100) })
	return w
}

func (w *watcher) get(topic string) (msg, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m, ok := w.last[topic]
	return m, ok
}

// wasRetained reports whether topic was ever delivered as a retained message.
func (w *watcher) wasRetained(topic string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.retained[topic]
}

func (w *watcher) forget(topic string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.last, topic)
}

func (w *watcher) publish(t *testing.T, topic, payload string) {
	t.Helper()
	if tok := w.c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, timeout, what, cond)
}

// payloadOf decodes a JSON payload into a map.
func payloadOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("payload %q: %v", s, err)
	}
	return m
}

// getJSON fetches an API URL and decodes the answer.
func getJSON(t *testing.T, url string, out any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
	return resp.StatusCode
}

func dialOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
