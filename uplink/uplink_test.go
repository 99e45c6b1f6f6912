package uplink_test

import (
	"context"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
	"github.com/gridbox/gridbox/uplink"
	"github.com/gridbox/gridbox/uplink/uplinktest"
	"github.com/prometheus/client_golang/prometheus"
)

// gateway is a bus with one meter and a running uplink sink.
type gateway struct {
	bus    *bus.Bus
	cancel context.CancelFunc
	done   chan error
	reg    *prometheus.Registry
	sub    *bus.Subscription
	ts     int64
}

func newBus(t testing.TB) *bus.Bus {
	b := bus.New()
	pts := []model.Datapoint{
		{Device: "meter", Name: "p", Meta: model.Meta{Kind: model.Sensor, Format: model.GenericNumeric, Unit: "W"}},
		{Device: "meter", Name: "e", Meta: model.Meta{Kind: model.Sensor, Format: model.GenericNumeric, Unit: "kWh"}},
	}
	if err := b.AddDevice(model.DeviceState{Device: "meter", Driver: "test", Online: true}, pts, nil, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

func startUplink(t testing.TB, b *bus.Bus, cfg *uplink.Config) *gateway {
	t.Helper()
	return startUplinkLog(t, b, cfg, slog.New(slog.DiscardHandler))
}

func startUplinkLog(t testing.TB, b *bus.Bus, cfg *uplink.Config, log *slog.Logger) *gateway {
	t.Helper()
	reg := prometheus.NewRegistry()
	env := sink.Env{Name: "prod", Site: "site1", Version: "test", Bus: b, Log: log, Metrics: reg}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := uplink.Kind().New(ctx, cfg, env)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	sub := b.Subscribe("prod", bus.Options{Size: 1 << 16})
	g := &gateway{bus: b, cancel: cancel, done: make(chan error, 1), reg: reg, sub: sub}
	go func() { g.done <- s.Run(ctx, sub); b.Unsubscribe(sub) }()
	t.Cleanup(func() { g.stop(t); s.Close() })
	return g
}

func (g *gateway) stop(t testing.TB) {
	if g.cancel == nil {
		return
	}
	g.cancel()
	if err := <-g.done; err != nil {
		t.Errorf("uplink Run: %v", err)
	}
	g.cancel = nil
}

// publish puts n values of meter/p and meter/e on the bus, ts increasing.
func (g *gateway) publish(n int) {
	for range n {
		g.ts++
		p := math.Round(2000+1500*math.Sin(float64(g.ts)/7)) / 10 // like a meter's reading, 0.1 W
		g.bus.Publish(model.Value{Device: "meter", Name: "p", Value: p, Time: 1_700_000_000_000 + g.ts*1000, Quality: model.Good},
			model.Value{Device: "meter", Name: "e", Value: 12345.678 + float64(g.ts)/360, Time: 1_700_000_000_000 + g.ts*1000, Quality: model.Good})
		for len(g.sub.Values) > 1<<15 {
			time.Sleep(time.Millisecond) // let the sink keep up: the bus drops beyond its queue
		}
	}
}

func testConfig(t testing.TB, broker string) *uplink.Config {
	cfg := uplink.Kind().NewConfig().(*uplink.Config)
	cfg.Broker, cfg.Dir, cfg.TopicRoot = broker, filepath.Join(t.TempDir(), "q"), "site1"
	cfg.BatchSize, cfg.Window = 200, 8
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	return cfg
}

func checkComplete(t testing.TB, col *uplinktest.Collector, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	s := col.Summarize()
	for s.Values < want || len(s.Missing) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d values at the remote: have %d in seqs %d..%d, missing %v, dups %d", want, s.Values, s.First, s.Last, s.Missing, s.Dups)
		}
		time.Sleep(20 * time.Millisecond)
		s = col.Summarize()
	}
	if s.First != 1 || len(s.Missing) > 0 || s.Bad > 0 {
		t.Fatalf("seqs %d..%d, missing %v, bad %d", s.First, s.Last, s.Missing, s.Bad)
	}
	for dp, ts := range s.PerDP {
		if !sort.SliceIsSorted(ts, func(i, j int) bool { return ts[i] < ts[j] }) {
			t.Fatalf("%s: order not kept", dp)
		}
		if len(ts) != want/2 {
			t.Fatalf("%s: %d values, want %d", dp, len(ts), want/2)
		}
	}
}

func TestUplinkOutage(t *testing.T) {
	for _, scheme := range []string{"mqtt", "mqtt5"} {
		t.Run(scheme, func(t *testing.T) {
			m := uplinktest.StartMosquitto(t)
			col := uplinktest.Collect(t, m.Addr, "site1/data")
			g := startUplink(t, newBus(t), testConfig(t, scheme+"://"+m.Addr))
			g.publish(2000)
			checkComplete(t, col, 4000)
			m.Stop()
			g.publish(3000)
			m.Start()
			g.publish(1000)
			checkComplete(t, col, 12000)
			testenv.Eventually(t, 30*time.Second, "queue drained", func() bool {
				return gauge(t, g.reg, "gridbox_uplink_queue_values") == 0
			})
		})
	}
}

// TestUplinkRestartKeepsSeq: a restarted uplink resends what was not
// acknowledged and continues the seq, never reusing one.
func TestUplinkRestartKeepsSeq(t *testing.T) {
	m := uplinktest.StartMosquitto(t)
	col := uplinktest.Collect(t, m.Addr, "site1/data")
	cfg := testConfig(t, "mqtt5://"+m.Addr)
	b := newBus(t)
	g := startUplink(t, b, cfg)
	g.publish(1000)
	checkComplete(t, col, 2000)
	m.Stop()
	g.publish(1000)
	testenv.Eventually(t, 30*time.Second, "values queued", func() bool {
		return gauge(t, g.reg, "gridbox_uplink_queue_values") == 2000
	})
	g.stop(t)
	if _, err := os.Stat(cfg.Dir); err != nil {
		t.Fatal(err)
	}
	m.Start()
	g2 := startUplink(t, b, cfg)
	g2.ts = g.ts
	g2.publish(500)
	checkComplete(t, col, 5000)
}

func gauge(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				if m.Gauge != nil {
					return m.Gauge.GetValue()
				}
				if m.Counter != nil {
					return m.Counter.GetValue()
				}
			}
		}
	}
	return -1
}

// counter reads one label value of a counter vector.
func counter(t testing.TB, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}

// TestUplinkSendBoth: with send: both, rollups of closed windows go up
// beside the raw values (power: last, mean, min, max, count; energy: last).
func TestUplinkSendBoth(t *testing.T) {
	m := uplinktest.StartMosquitto(t)
	col := uplinktest.Collect(t, m.Addr, "site1/data")
	cfg := testConfig(t, "mqtt5://"+m.Addr)
	cfg.Send, cfg.Aggregate, cfg.Exclude = "both", config.Duration(time.Second), []string{"meter/e"}
	b := newBus(t)
	startUplink(t, b, cfg)
	now := time.Now().UnixMilli() / 1000 * 1000 // both values in one window
	for i, v := range []float64{100, 300} {
		b.Publish(model.Value{Device: "meter", Name: "p", Value: v, Time: now + int64(i), Quality: model.Good})
		b.Publish(model.Value{Device: "meter", Name: "e", Value: v, Time: now + int64(i), Quality: model.Good})
	}
	testenv.Eventually(t, 30*time.Second, "the window's rollups", func() bool {
		s := col.Summarize()
		return len(s.PerDP["meter/p/mean"]) > 0 && len(s.PerDP["meter/p/count"]) > 0 && len(s.PerDP["meter/p"]) == 2
	})
	s := col.Summarize()
	for dp := range s.PerDP {
		if strings.HasPrefix(dp, "meter/e") {
			t.Fatalf("excluded datapoint went up: %s", dp)
		}
	}
	for _, msg := range col.Messages() {
		for _, v := range msg.Values {
			if v.DP == "meter/p/mean" && string(v.V) != "200" {
				t.Fatalf("mean %s, want 200", v.V)
			}
		}
	}
}

// TestUplinkSealsLeftovers: values a crash left unsealed in the queue go
// up after a restart even when no new value arrives.
func TestUplinkSealsLeftovers(t *testing.T) {
	m := uplinktest.StartMosquitto(t)
	col := uplinktest.Collect(t, m.Addr, "site1/data")
	cfg := testConfig(t, "mqtt5://"+m.Addr)
	q, err := uplink.OpenQueue(cfg.Dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Append([][]byte{[]byte(`{"dp":"meter/p","v":1,"ts":5,"q":"good"}`)}); err != nil {
		t.Fatal(err)
	}
	q.Close() // like a kill -9: appended, never sealed
	startUplink(t, newBus(t), cfg)
	testenv.Eventually(t, 30*time.Second, "the leftover value at the remote", func() bool {
		return col.Summarize().Values == 1
	})
}
