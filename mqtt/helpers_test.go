package mqtt

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// sharedMosquitto is the Mosquitto that runs on this machine (and in CI).
const sharedMosquitto = "127.0.0.1:1883"

// needMosquitto requires the shared Mosquitto broker.
func needMosquitto(t testing.TB) {
	t.Helper()
	testenv.Service(t, "Mosquitto", sharedMosquitto)
}

// needProgram requires an executable on PATH (or in /usr/sbin) and returns its path.
func needProgram(t testing.TB, name string) string {
	t.Helper()
	return testenv.Tool(t, name)
}

func ptr(f float64) *float64 { return &f }

// device is a fake actuator: it records writes and reads back the value
// rounded to 0.5, as a real controller with a coarse register would.
type device struct {
	mu      sync.Mutex
	got     []any
	release chan struct{} // when not nil, writes wait for it
}

func (d *device) Write(ctx context.Context, name string, v any) (any, error) {
	if d.release != nil {
		select {
		case <-d.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	d.mu.Lock()
	d.got = append(d.got, v)
	d.mu.Unlock()
	f, _ := model.AsFloat(v)
	return float64(int(f*2+0.5)) / 2, nil
}

func (d *device) writes() []any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]any(nil), d.got...)
}

// newBus registers device "room" with a sensor and an actuator (15..30 °C).
func newBus(t testing.TB, w bus.Writer) *bus.Bus {
	t.Helper()
	b := bus.New()
	pts := []model.Datapoint{
		{Name: "temperature", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "°C", Description: "room temperature"}},
		{Name: "setpoint", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "°C", Min: ptr(15), Max: ptr(30), Role: "setpoint"}},
	}
	if err := b.AddDevice(model.DeviceState{Device: "room", Driver: "test", Online: true, LastSeen: 1700000000000}, pts, w, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

// tlog sends log lines to the test log (shown for failed tests and -v).
type tlog struct{ t testing.TB }

func (w tlog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// running is a publisher started in the background.
type running struct {
	p      *Publisher
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startPublisher runs a publisher until the test ends (or stop is called).
func startPublisher(t testing.TB, b *bus.Bus, o Options) *running {
	t.Helper()
	o.Metrics = prometheus.NewPedanticRegistry() // a registry per publisher; also checks the metrics register cleanly
	if o.Version == "" {
		o.Version = "test"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := New(b, o)
	if err != nil {
		t.Fatal(err)
	}
	sub := b.Subscribe("mqtt", bus.Options{States: true})
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{p: p, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx, sub); b.Unsubscribe(sub) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and waits for it to return (once; later calls do nothing).
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of cancel")
		}
	})
}

// metric reads one counter or gauge from the publisher's registry.
func (r *running) metric(name string, labels ...string) float64 {
	switch name {
	case "connected":
		return testutil.ToFloat64(r.p.m.connected)
	case "published":
		return testutil.ToFloat64(r.p.m.published)
	case "reconnects":
		return testutil.ToFloat64(r.p.m.reconnects)
	case "resent":
		return testutil.ToFloat64(r.p.m.resent)
	case "dropped":
		return testutil.ToFloat64(r.p.m.dropped.WithLabelValues(labels...))
	case "writes":
		return testutil.ToFloat64(r.p.m.writes.WithLabelValues(labels...))
	}
	panic("unknown metric " + name)
}

// eventually polls cond until it holds or a generous timeout passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// msg is a received MQTT message.
type msg struct {
	payload  string
	retained bool
}

// watcher is a plain MQTT 3.1.1 client that records what it receives.
type watcher struct {
	c    paho.Client
	mu   sync.Mutex
	last map[string]msg
	all  map[string][]msg
}

// watch connects a fresh client to addr (host:port) and subscribes filter.
func watch(t testing.TB, addr, filter string) *watcher {
	t.Helper()
	w := &watcher{last: map[string]msg{}, all: map[string][]msg{}}
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("watch-%d", time.Now().UnixNano())).SetAutoReconnect(false)
	w.c = paho.NewClient(o)
	if tok := w.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher connect %s: %v", addr, tok.Error())
	}
	tok := w.c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		w.mu.Lock()
		defer w.mu.Unlock()
		x := msg{payload: string(m.Payload()), retained: m.Retained()}
		w.last[m.Topic()] = x
		w.all[m.Topic()] = append(w.all[m.Topic()], x)
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher subscribe %s: %v", filter, tok.Error())
	}
	t.Cleanup(func() { w.c.Disconnect(100) })
	return w
}

// waitPayload waits until topic's last message satisfies ok and returns it.
func (w *watcher) waitPayload(t testing.TB, topic string, ok func(m msg) bool) msg {
	t.Helper()
	var got msg
	eventually(t, "a matching message on "+topic, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		m, have := w.last[topic]
		got = m
		return have && ok(m)
	})
	return got
}

// waitExact waits for topic to carry exactly payload.
func (w *watcher) waitExact(t testing.TB, topic, payload string) msg {
	t.Helper()
	return w.waitPayload(t, topic, func(m msg) bool { return m.payload == payload })
}

// count is how many messages arrived on topic.
func (w *watcher) count(topic string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.all[topic])
}

// publish sends one message from the watcher's client.
func (w *watcher) publish(t testing.TB, topic, payload string, retain bool) {
	t.Helper()
	if tok := w.c.Publish(topic, 1, retain, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// decode unmarshals a JSON payload into a map.
func decode(t testing.TB, payload string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		t.Fatalf("payload %q: %v", payload, err)
	}
	return m
}

// uniquePrefix keeps tests on the shared Mosquitto apart and removes their
// retained messages at the end.
func uniquePrefix(t testing.TB, addr string) string {
	t.Helper()
	prefix := fmt.Sprintf("gbtest-%d", time.Now().UnixNano())
	t.Cleanup(func() { clearRetained(addr, prefix) })
	return prefix
}

// clearRetained deletes every retained message under prefix.
func clearRetained(addr, prefix string) {
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(fmt.Sprintf("clean-%d", time.Now().UnixNano()))
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		return
	}
	defer c.Disconnect(100)
	var mu sync.Mutex
	var topics []string
	c.Subscribe(prefix+"/#", 0, func(_ paho.Client, m paho.Message) {
		if m.Retained() && len(m.Payload()) > 0 {
			mu.Lock()
			topics = append(topics, m.Topic())
			mu.Unlock()
		}
	}).WaitTimeout(5 * time.Second)
	time.Sleep(300 * time.Millisecond) // retained messages arrive right after SUBACK; cleanup only, no assertion
	mu.Lock()
	defer mu.Unlock()
	for _, tp := range topics {
		c.Publish(tp, 1, true, []byte{}).WaitTimeout(5 * time.Second)
	}
}

// mosquitto is a private Mosquitto process for outage tests.
type mosquitto struct {
	t    testing.TB
	bin  string
	conf string
	port int
	cmd  *exec.Cmd
}

// startMosquitto starts a private Mosquitto on a free port.
func startMosquitto(t testing.TB) *mosquitto {
	t.Helper()
	return startMosquittoConf(t, "")
}

// startMosquittoConf starts a private Mosquitto whose listener gets the extra config lines.
func startMosquittoConf(t testing.TB, extra string) *mosquitto {
	t.Helper()
	bin := needProgram(t, "mosquitto")
	_, p, _ := net.SplitHostPort(testenv.FreeAddr(t))
	port, _ := strconv.Atoi(p)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\n%s", port, extra)), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &mosquitto{t: t, bin: bin, conf: conf, port: port}
	m.start()
	t.Cleanup(m.kill)
	return m
}

func (m *mosquitto) addr() string { return fmt.Sprintf("127.0.0.1:%d", m.port) }

// start runs the process and waits until it accepts connections.
func (m *mosquitto) start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	eventually(m.t, "mosquitto on "+m.addr(), func() bool {
		c, err := net.DialTimeout("tcp", m.addr(), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// kill stops the process hard, as a crash or power loss would.
func (m *mosquitto) kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
	m.cmd = nil
}
