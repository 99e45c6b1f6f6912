package victron_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/dialect/victron"
	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/mqtt"
	"github.com/gridbox/gridbox/sink"
)

func f(v float64) *float64 { return &v }

// recorder is the devices' writer: it keeps what was written.
type recorder struct {
	mu  sync.Mutex
	got []any
}

func (r *recorder) Write(_ context.Context, _ string, v any) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, v)
	return v, nil
}

func (r *recorder) values() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any(nil), r.got...)
}

type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(w string) { c.mu.Lock(); c.n[w]++; c.mu.Unlock() }
func (c *counts) get(w string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[w]
}

type rig struct {
	bus    *bus.Bus
	addr   string
	id     string
	w      *recorder
	counts *counts
}

// start runs a bus with a meter, a battery and an ESS setpoint, the MQTT
// sink with the embedded broker and the Victron dialect.
func start(t *testing.T, retained bool) *rig {
	t.Helper()
	r := &rig{bus: bus.New(), id: fmt.Sprintf("gx%d", time.Now().UnixNano()), w: &recorder{}, counts: &counts{n: map[string]int{}}}
	devs := []struct {
		id  string
		dps []model.Datapoint
	}{
		{"meter", []model.Datapoint{{Name: "power", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W", Role: "grid_power"}}}},
		{"bat", []model.Datapoint{
			{Name: "soc", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "%", Role: "battery_soc"}},
			{Name: "power", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W", Role: "battery_power"}},
			{Name: "setpoint", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "W", Min: f(-1000), Max: f(1000)}},
			{Name: "pw", Meta: model.Meta{Kind: model.Sensor, Format: model.GenericText}},
		}},
	}
	for _, d := range devs {
		for i := range d.dps {
			d.dps[i].Device = d.id
		}
		if err := r.bus.AddDevice(model.DeviceState{Device: d.id, Driver: "test", Online: true}, d.dps, r.w, 0); err != nil {
			t.Fatal(err)
		}
	}
	now := model.NowMs()
	r.bus.Publish(model.Value{Device: "meter", Name: "power", Value: 1500.0, Time: now, Quality: model.Good},
		model.Value{Device: "bat", Name: "soc", Value: 55.0, Time: now, Quality: model.Good},
		model.Value{Device: "bat", Name: "power", Value: -200.0, Time: now, Quality: model.Good},
		model.Value{Device: "bat", Name: "pw", Value: "secret", Time: now, Quality: model.Good})
	log := slog.New(slog.DiscardHandler)
	k := mqtt.Kind()
	cfg := k.NewConfig().(*mqtt.Config)
	cfg.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	s, err := k.New(ctx, cfg, sink.Env{Name: "mqtt", Site: "t", Bus: r.bus, Log: log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	sub := r.bus.Subscribe("mqtt", bus.Options{States: true, Events: true})
	wg.Go(func() { _ = s.Run(ctx, sub) })
	vc := victron.Config{PortalID: r.id, Retained: retained, ReadOnlyUsers: []string{"viewer"},
		KeepAlive: config.Duration(5 * time.Second),
		Mapping: map[string]string{
			"bat/setpoint": "settings/0/Settings/CGwacs/AcPowerSetPoint",
			"bat/pw":       "settings/0/Settings/Password",
		}}
	v, err := victron.New(r.bus, s.(sink.MQTT), vc, slog.New(slog.NewTextHandler(testWriter{t}, nil)), r.counts.add)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	vsub := r.bus.Subscribe("victron", bus.Options{States: true, Events: true})
	wg.Go(func() {
		if err := v.Run(ctx, vsub); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait(); _ = s.Close() })
	r.addr = s.(sink.Addresser).Addr()
	return r
}

func (r *rig) n(p string) string { return "N/" + r.id + "/" + p }

func value(t *testing.T, m mqttcli.Msg) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(m.Payload), &v); err != nil {
		t.Fatalf("%s: %q: %v", m.Topic, m.Payload, err)
	}
	return v
}

// index returns the position of the first message on topic at or after from.
func index(msgs []mqttcli.Msg, from int, topic string, pred func(mqttcli.Msg) bool) int {
	for i := from; i < len(msgs); i++ {
		if msgs[i].Topic == topic && (pred == nil || pred(msgs[i])) {
			return i
		}
	}
	return -1
}

func TestKeepAliveSequence(t *testing.T) {
	r := start(t, false)
	s := mqttcli.Subscribe(t, r.addr, nil, "N/"+r.id+"/#")
	testenv.Eventually(t, 20*time.Second, "the retained serial", func() bool {
		m, ok := s.Last(r.n("system/0/Serial"))
		return ok && m.Retained && m.Payload == `{"value":"`+r.id+`"}`
	})
	if s.Count(r.n("grid/30/Ac/Power")) != 0 {
		t.Fatal("values flow before a keep-alive")
	}

	// A plain keep-alive: every path, then full_publish_completed.
	if err := mqttcli.Publish(t, r.addr, "R/"+r.id+"/keepalive", ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "full_publish_completed", func() bool { return s.Count(r.n("full_publish_completed")) == 1 })
	msgs := s.Msgs()
	done := index(msgs, 0, r.n("full_publish_completed"), nil)
	want := map[string]string{
		"grid/30/Ac/Power":                           `{"value":1500}`,
		"battery/512/Soc":                            `{"value":55}`,
		"battery/512/Dc/0/Power":                     `{"value":-200}`,
		"system/0/Ac/Consumption/L1/Power":           `{"value":1700}`,
		"system/0/Dc/Battery/Soc":                    `{"value":55}`,
		"settings/0/Settings/Password":               `{"value":"******"}`,
		"settings/0/Settings/CGwacs/AcPowerSetPoint": `{"value":null}`,
		"battery/512/ProductName":                    `{"value":"bat"}`,
		"grid/30/Connected":                          `{"value":1}`,
	}
	for p, payload := range want {
		i := index(msgs, 0, r.n(p), nil)
		if i < 0 || i > done || msgs[i].Payload != payload || msgs[i].Retained {
			t.Errorf("%s: index %d (completion at %d), message %+v, want %s not retained", p, i, done, msgs[max(i, 0)], payload)
		}
	}
	if ts, _ := value(t, msgs[done])["value"].(float64); time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Errorf("full_publish_completed value %v is not now", ts)
	}

	// With the echo option the completion echoes the token.
	echo := func(tok string) func() bool {
		return func() bool {
			m, ok := s.Last(r.n("full_publish_completed"))
			return ok && strings.Contains(m.Payload, `"full-publish-completed-echo":"`+tok+`"`)
		}
	}
	if err := mqttcli.Publish(t, r.addr, "R/"+r.id+"/keepalive", `{"keepalive-options": [{"full-publish-completed-echo": "abc"}]}`); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "the echo abc", echo("abc"))

	// suppress-republish: liveness only, no republish and no completion.
	mark := len(s.Msgs())
	if err := mqttcli.Publish(t, r.addr, "R/"+r.id+"/keepalive", `{"keepalive-options": ["suppress-republish"]}`); err != nil {
		t.Fatal(err)
	}
	if err := mqttcli.Publish(t, r.addr, "R/"+r.id+"/keepalive", `{"keepalive-options": [{"full-publish-completed-echo": "xyz"}]}`); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "the echo xyz", echo("xyz"))
	msgs = s.Msgs()
	grid, completions := 0, 0
	for _, m := range msgs[mark:] {
		grid += map[bool]int{true: 1}[m.Topic == r.n("grid/30/Ac/Power")]
		completions += map[bool]int{true: 1}[m.Topic == r.n("full_publish_completed")]
	}
	if grid != 1 || completions != 1 {
		t.Errorf("after suppress-republish + echo keep-alive: %d grid messages and %d completions, want 1 and 1", grid, completions)
	}

	// Heartbeats while alive, then expiry (keepalive 5 s here).
	testenv.Eventually(t, 20*time.Second, "a heartbeat", func() bool { return s.Count(r.n("heartbeat")) > 0 })
	testenv.Eventually(t, 30*time.Second, "the keep-alive to expire", func() bool { return r.counts.get("expired") > 0 })

	// Reads answer one path or a sub-tree.
	before, beforeDC := s.Count(r.n("battery/512/Soc")), s.Count(r.n("battery/512/Dc/0/Power"))
	if err := mqttcli.Publish(t, r.addr, "R/"+r.id+"/battery/512", ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "a sub-tree read", func() bool {
		return s.Count(r.n("battery/512/Soc")) > before && s.Count(r.n("battery/512/Dc/0/Power")) > beforeDC
	})
}

func TestLegacyRetainedClearedOnExpiry(t *testing.T) {
	r := start(t, true)
	s := mqttcli.Subscribe(t, r.addr, nil, "N/"+r.id+"/#")
	testenv.Eventually(t, 20*time.Second, "the legacy keep-alive (read of the serial) answered", func() bool {
		if s.Count(r.n("full_publish_completed")) > 0 {
			return true
		}
		if err := mqttcli.Publish(t, r.addr, "R/"+r.id+"/system/0/Serial", ""); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		return false
	})
	fresh := mqttcli.Subscribe(t, r.addr, nil, r.n("grid/30/Ac/Power"))
	testenv.Eventually(t, 20*time.Second, "the value retained", func() bool {
		m, ok := fresh.Last(r.n("grid/30/Ac/Power"))
		return ok && m.Retained && m.Payload == `{"value":1500}`
	})
	testenv.Eventually(t, 30*time.Second, "the retained value cleared on expiry", func() bool {
		m, ok := s.Last(r.n("grid/30/Ac/Power"))
		return ok && m.Payload == ""
	})
	if m, _ := s.Last(r.n("system/0/Serial")); m.Payload == "" {
		t.Error("the serial was cleared")
	}
}

func TestWritesAndAccessRules(t *testing.T) {
	r := start(t, false)
	s := mqttcli.Subscribe(t, r.addr, nil, "N/"+r.id+"/#")
	w := mqttcli.Subscribe(t, r.addr, nil, "W/"+r.id+"/#")
	testenv.Eventually(t, 20*time.Second, "the dialect up", func() bool { return s.Count(r.n("system/0/Serial")) > 0 })
	sp := "W/" + r.id + "/settings/0/Settings/CGwacs/AcPowerSetPoint"

	// Outside N publishes for our portal id are refused (MQTT 5: PUBACK
	// "not authorized"); other portal ids are not ours to police.
	_ = mqttcli.Publish(t, r.addr, r.n("grid/30/Ac/Power"), `{"value": 9999}`, "-V", "mqttv5")
	// A read-only user cannot write; the limits refuse 5000 W.
	_ = mqttcli.Publish(t, r.addr, sp, `{"value": -101}`, "-u", "viewer", "-V", "mqttv5")
	for _, bad := range []string{`{"value": 5000}`, `-100`, `{"val": 1}`} {
		if err := mqttcli.Publish(t, r.addr, sp, bad); err != nil {
			t.Fatal(err)
		}
	}
	// W topics with a password are never delivered.
	if err := mqttcli.Publish(t, r.addr, "W/"+r.id+"/settings/0/Settings/Password", `{"value": "new"}`); err != nil {
		t.Fatal(err)
	}
	if err := mqttcli.Publish(t, r.addr, sp, `{"value": -100}`, "-u", "operator"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "the permitted write applied", func() bool { return len(r.w.values()) > 0 })
	if got := r.w.values(); len(got) != 1 || got[0] != -100.0 {
		t.Errorf("writes reaching the device: %v, want only -100", got)
	}
	// The W subscriber gets the four permitted publishes (in order, after
	// anything refused before them).
	testenv.Eventually(t, 20*time.Second, "the writes seen by a W subscriber", func() bool { return w.Count(sp) >= 4 })
	for _, m := range w.Msgs() {
		if strings.Contains(m.Topic, "Password") || strings.Contains(m.Payload, "-101") {
			t.Errorf("refused publish delivered: %+v", m)
		}
	}
	// A read answered after the refused N publish: had it passed, it would
	// have reached the subscriber first.
	if err := mqttcli.Publish(t, r.addr, "R/"+r.id+"/grid/30/Ac/Power", ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "the read answered", func() bool { return s.Count(r.n("grid/30/Ac/Power")) > 0 })
	for _, m := range s.Msgs() {
		if strings.Contains(m.Payload, "9999") {
			t.Errorf("a foreign N publish got through: %+v", m)
		}
	}
	if r.counts.get("refused") != 2 || r.counts.get("write_failed") != 2 {
		t.Errorf("refused %d (want 2: no value key), write_failed %d (want 2: above max, and the password path is a sensor)", r.counts.get("refused"), r.counts.get("write_failed"))
	}

	// Client ids and user names with +, # or / are refused.
	if err := mqttcli.Publish(t, r.addr, "R/"+r.id+"/keepalive", "", "-i", "bad/id"); err == nil {
		t.Error("client id with / accepted")
	}
	if err := mqttcli.Publish(t, r.addr, "R/"+r.id+"/keepalive", "", "-u", "a+b"); err == nil {
		t.Error("user name with + accepted")
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestDeviceGoneClearsItsPaths(t *testing.T) {
	r := start(t, false)
	s := mqttcli.Subscribe(t, r.addr, nil, "N/"+r.id+"/#")
	testenv.Eventually(t, 20*time.Second, "the dialect up", func() bool { return s.Count(r.n("system/0/Serial")) > 0 })
	if err := r.bus.RemoveDevice("meter"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"grid/30/Ac/Power", "grid/30/ProductName", "grid/30/Connected"} {
		testenv.Eventually(t, 20*time.Second, p+" cleared with a zero-byte message", func() bool {
			m, ok := s.Last(r.n(p))
			return ok && m.Payload == ""
		})
	}
	if n := s.Count(r.n("battery/512/Soc")); n != 0 {
		t.Errorf("the battery's paths were touched: %d messages", n)
	}
}
