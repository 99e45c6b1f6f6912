package victron

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/broker"
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// fakeConn records publishes (unit tests only; the protocol is tested
// against Mosquitto's clients in victron_test.go).
type fakeConn struct {
	mu   sync.Mutex
	msgs []string // "topic payload"
}

func (c *fakeConn) Publish(_ context.Context, topic string, payload []byte, _ byte, _ bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, topic+" "+string(payload))
	return nil
}
func (c *fakeConn) Subscribe(string) error      { return nil }
func (c *fakeConn) Close(context.Context) error { return nil }
func (c *fakeConn) count(prefix string) (n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

func dp(dev, name, role string) model.Datapoint {
	return model.Datapoint{Device: dev, Name: name, Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W", Role: role}}
}

func newUnit(t *testing.T, mapping map[string]string) (*Dialect, *fakeConn, map[string]int) {
	t.Helper()
	b := bus.New()
	for _, d := range []struct {
		id  string
		dps []model.Datapoint
	}{
		{"pv1", []model.Datapoint{dp("pv1", "power", "pv_power")}},
		{"pv2", []model.Datapoint{dp("pv2", "power", "pv_power")}},
		{"meter", []model.Datapoint{dp("meter", "power", "grid_power"), dp("meter", "other", "")}},
	} {
		if err := b.AddDevice(model.DeviceState{Device: d.id, Online: true}, d.dps, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]int{}
	d, err := New(b, nil, Config{PortalID: "abc", Mapping: mapping}, slog.New(slog.DiscardHandler), func(w string) { counts[w]++ })
	if err != nil {
		t.Fatal(err)
	}
	c := &fakeConn{}
	d.conn = c
	d.t = build(b.Datapoints(), d.cfg.Mapping)
	return d, c, counts
}

var _ sink.MQTTConn = (*fakeConn)(nil)
var _ broker.Policy = (*policy)(nil)

func TestDefaultMapping(t *testing.T) {
	d, _, _ := newUnit(t, map[string]string{"meter/other": "grid/30/Ac/L1/Power"})
	for _, p := range []string{"pvinverter/20/Ac/Power", "pvinverter/21/Ac/Power", "grid/30/Ac/Power", "grid/30/Ac/L1/Power", "pvinverter/21/ProductName", sysConsumption} {
		if _, ok := d.t.paths[p]; !ok {
			t.Errorf("no %s in %v", p, sortedPaths(d.t))
		}
	}
	d2, _, _ := newUnit(t, map[string]string{"meter/power": "-"})
	if _, ok := d2.t.paths["grid/30/Ac/Power"]; ok {
		t.Error(`"-" did not leave the datapoint out`)
	}
}

func TestValuesOnlyWhileAliveAndExpiry(t *testing.T) {
	d, c, counts := newUnit(t, nil)
	ctx := context.Background()
	v := model.Value{Device: "meter", Name: "power", Value: 10.0, Quality: model.Good, Time: 1}
	d.bus.Publish(v)
	d.value(ctx, v)
	if c.count("N/abc/grid/30/Ac/Power") != 0 {
		t.Fatal("value published while not alive")
	}
	d.extend(ctx, false, nil) // suppress-republish: alive, nothing republished
	if c.count("N/abc/full_publish_completed") != 0 || c.count("N/abc/grid/30/Ac/Power") != 0 {
		t.Fatal("suppress-republish republished")
	}
	d.value(ctx, v)
	if c.count("N/abc/grid/30/Ac/Power ") != 1 {
		t.Fatalf("value not published while alive: %v", c.msgs)
	}
	d.heartbeat(ctx, time.Now())
	if c.count("N/abc/heartbeat") != 1 {
		t.Fatal("no heartbeat while alive")
	}
	d.heartbeat(ctx, time.Now().Add(DefaultKeepAlive+time.Second))
	if d.alive || counts["expired"] != 1 {
		t.Fatal("not expired after the keep-alive time")
	}
	d.heartbeat(ctx, time.Now().Add(2*DefaultKeepAlive))
	d.value(ctx, v)
	if c.count("N/abc/heartbeat") != 1 || c.count("N/abc/grid/30/Ac/Power ") != 1 {
		t.Fatalf("published after expiry: %v", c.msgs)
	}
}

func TestFullRepublishRateLimit(t *testing.T) {
	d, c, counts := newUnit(t, nil)
	for range 5 {
		d.extend(context.Background(), true, nil)
	}
	if n := c.count("N/abc/full_publish_completed"); n != maxRepublishes || counts["rate_limited"] != 5-maxRepublishes {
		t.Fatalf("%d full republishes, %d rate limited; want %d and %d", n, counts["rate_limited"], maxRepublishes, 5-maxRepublishes)
	}
	if !d.alive {
		t.Fatal("a rate-limited keep-alive must still extend liveness")
	}
}

func TestSummary(t *testing.T) {
	d, _, _ := newUnit(t, nil)
	vals := map[string]float64{"pv1/power": 1000, "pv2/power": 500, "meter/power": -300}
	s := summary(d.t, func(k string) (float64, bool) { v, ok := vals[k]; return v, ok })
	if s[sysPV] != 1500.0 || s[sysGrid] != -300.0 || s[sysConsumption] != 1200.0 || s[sysSoc] != nil {
		t.Fatalf("summary %v", s)
	}
	delete(vals, "pv2/power")
	if s := summary(d.t, func(k string) (float64, bool) { v, ok := vals[k]; return v, ok }); s[sysConsumption] != nil {
		t.Fatalf("consumption without every PV value: %v", s[sysConsumption])
	}
}

func TestPolicy(t *testing.T) {
	p := newPolicy("abc", []string{"viewer"})
	cases := []struct {
		user, topic string
		write, ok   bool
	}{
		{"", "N/abc/grid/30/Ac/Power", true, false},
		{"", "N/other/grid/30/Ac/Power", true, true},
		{"", "N/abc/#", false, true},
		{"viewer", "W/abc/hub4/0/AcPowerSetpoint", true, false},
		{"viewer", "R/abc/keepalive", true, true},
		{"op", "W/abc/hub4/0/AcPowerSetpoint", true, true},
		{"op", "W/abc/settings/0/Settings/Password", false, false},
		{"op", "W/abc/#", false, true},
	}
	for _, c := range cases {
		if got := p.Allow("c", c.user, c.topic, c.write); got != c.ok {
			t.Errorf("%s %s write=%v: %v, want %v", c.user, c.topic, c.write, got, c.ok)
		}
	}
	if p.Connect("a/b", "") == nil || p.Connect("ok", "x#") == nil || p.Connect("ok", "user") != nil {
		t.Error("connect rules")
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{PortalID: "e0ff50a097c0", Mapping: map[string]string{"meter/power": "grid/30/Ac/Power", "x/y": "-"}}
	if errs := good.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, bad := range []Config{
		{},
		{PortalID: "a/b"},
		{PortalID: "a", Mapping: map[string]string{"meter": "grid/30/Ac/Power"}},
		{PortalID: "a", Mapping: map[string]string{"m/p": "grid/x/Ac/Power"}},
		{PortalID: "a", Mapping: map[string]string{"m/p": "grid/30"}},
		{PortalID: "a", Mapping: map[string]string{"m/p": "Grid/30/Ac"}},
		{PortalID: "a", ReadOnlyUsers: []string{"a+b"}},
	} {
		if len(bad.Validate()) == 0 {
			t.Errorf("%+v passes", bad)
		}
	}
}
