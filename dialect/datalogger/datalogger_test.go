package datalogger_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/dialect/datalogger"
	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/mqtt"
	"github.com/gridbox/gridbox/sink"
)

// ctl is the gateway's controller as `gridbox run` offers it, recording calls.
type ctl struct {
	mu      sync.Mutex
	applied []string
	reloads int
}

func (c *ctl) ApplyConfig(_ context.Context, data []byte) (string, []string, func(), error) {
	if strings.Contains(string(data), "bad") {
		return "", []string{"site: bad is not a valid id"}, nil, nil
	}
	return "cfg42", nil, func() { c.mu.Lock(); c.applied = append(c.applied, string(data)); c.mu.Unlock() }, nil
}
func (c *ctl) Reload() error              { c.mu.Lock(); c.reloads++; c.mu.Unlock(); return nil }
func (c *ctl) RestartDevice(string) error { return nil }
func (c *ctl) ConfigID() string           { return "cfg41" }
func (c *ctl) get() ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.applied...), c.reloads
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
	ctl    *ctl
	counts *counts
}

// start runs a bus with an inverter and a meter, the MQTT sink on a private
// Mosquitto and the datalogger dialect.
func start(t *testing.T, c datalogger.Config) *rig {
	t.Helper()
	return startOn(t, mqttcli.StartBroker(t, ""), c)
}

func startOn(t *testing.T, addr string, c datalogger.Config) *rig {
	t.Helper()
	r := &rig{bus: bus.New(), addr: addr, ctl: &ctl{}, counts: &counts{n: map[string]int{}}}
	num := model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W"}
	for _, d := range []struct{ id, a, b string }{{"sma_stp_1", "P_total", "total_yield"}, {"ems", "P_L1", "mode"}} {
		dps := []model.Datapoint{{Device: d.id, Name: strings.ToLower(d.a), Meta: num}, {Device: d.id, Name: d.b, Meta: num}}
		if d.id == "ems" {
			dps[1].Meta = model.Meta{Kind: model.Sensor, Format: model.GenericText}
		}
		if err := r.bus.AddDevice(model.DeviceState{Device: d.id, Online: true}, dps, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	k := mqtt.Kind()
	mc := k.NewConfig().(*mqtt.Config)
	mc.Broker, mc.ClientID = "mqtt://"+r.addr, "gb-dl"
	ctx, cancel := context.WithCancel(context.Background())
	s, err := k.New(ctx, mc, sink.Env{Name: "mqtt", Site: "t", Bus: r.bus, Log: log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	sub := r.bus.Subscribe("mqtt", bus.Options{States: true, Events: true})
	wg.Go(func() { _ = s.Run(ctx, sub) })
	d, err := datalogger.New(r.bus, s.(sink.MQTT), c, r.ctl, "v9.9.9", log, r.counts.add)
	if err != nil {
		t.Fatal(err)
	}
	dsub := r.bus.Subscribe("datalogger", bus.Options{States: true, Events: true})
	wg.Go(func() {
		if err := d.Run(ctx, dsub); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait(); _ = s.Close() })
	return r
}

func payloads(s *mqttcli.Sub) []map[string]any {
	var out []map[string]any
	for _, m := range s.Msgs() {
		if m.Topic != datalogger.TopicData {
			continue
		}
		var p map[string]any
		if json.Unmarshal([]byte(m.Payload), &p) == nil {
			out = append(out, p)
		}
	}
	return out
}

func record(p map[string]any, dev string) map[string]any {
	rs, _ := p["r"].([]any)
	for _, r := range rs {
		if m, ok := r.(map[string]any); ok && m["_d"] == dev {
			return m
		}
	}
	return nil
}

// TestDataPayload: u/data carries t in Unix seconds aligned to the read
// interval, one record per device with _d, _vid and the values, m with the
// provider and config id; _s status items only when a level changes.
func TestDataPayload(t *testing.T) {
	addr := mqttcli.StartBroker(t, "")
	s := readySub(t, addr, "u/#") // before the dialect starts: the first status items are in its first payloads
	r := startOn(t, addr, datalogger.Config{ReadInterval: 2e9, ReadRoundtime: true, VendorIDs: map[string]string{"sma_stp_1": "1234567890"},
		FieldNames: map[string]string{"p_total": "P_total", "ems/p_l1": "P_L1"}})
	var first map[string]any
	testenv.Eventually(t, 30*time.Second, "a u/data payload with both devices' values", func() bool {
		now := model.NowMs() // fresh values: older ones than max_age are left out
		r.bus.Publish(
			model.Value{Device: "sma_stp_1", Name: "p_total", Value: 12345.0, Quality: model.Good, Time: now},
			model.Value{Device: "sma_stp_1", Name: "total_yield", Value: 8106606.0, Quality: model.Good, Time: now},
			model.Value{Device: "ems", Name: "p_l1", Value: 325218.8125, Quality: model.Good, Time: now},
			model.Value{Device: "ems", Name: "mode", Value: "auto", Quality: model.Bad, Time: now},
		)
		for _, p := range payloads(s) {
			if rec := record(p, "ems"); rec != nil && rec["P_L1"] != nil && record(p, "sma_stp_1") != nil {
				first = p
				return true
			}
		}
		return false
	})
	tt, ok := first["t"].(float64)
	if !ok || tt != float64(int64(tt)) || int64(tt)%2 != 0 || int64(tt) > time.Now().Unix() || int64(tt) < time.Now().Unix()-60 {
		t.Fatalf("t = %v: want Unix seconds aligned to 2 s", first["t"])
	}
	sma := record(first, "sma_stp_1")
	if sma["_vid"] != "1234567890" || sma["P_total"] != 12345.0 || sma["total_yield"] != 8106606.0 {
		t.Errorf("sma record: %v", sma)
	}
	ems := record(first, "ems")
	if ems["_vid"] != "ems" || ems["P_L1"] != 325218.8125 {
		t.Errorf("ems record: %v", ems)
	}
	if _, has := ems["mode"]; has {
		t.Errorf("a bad value went into the record: %v", ems)
	}
	m, _ := first["m"].(map[string]any)
	if m["data_provider"] != "gridbox" || m["config_id"] != "cfg41" {
		t.Errorf("m: %v", m)
	}
	if _, ok := m["reading_duration"].(float64); !ok {
		t.Errorf("m.reading_duration: %v", m)
	}
	// The first status of each device went out once, in the first payload with it.
	st := statusItems(s, "ems")
	if len(st) != 1 || st[0] != `[{"c":"online","l":0}]` {
		t.Fatalf("status items of ems: %v", st)
	}
	r.bus.SetState(model.DeviceState{Device: "ems", Online: false, Error: "timeout"}, 1, 1)
	testenv.Eventually(t, 30*time.Second, "an _s item for ems going offline", func() bool {
		r.bus.Publish(model.Value{Device: "sma_stp_1", Name: "p_total", Value: 2.0, Quality: model.Good, Time: model.NowMs()})
		return len(statusItems(s, "ems")) == 2
	})
	if st := statusItems(s, "ems"); st[1] != `[{"c":"offline: timeout","l":3}]` {
		t.Fatalf("offline status: %v", st)
	}
	n := len(payloads(s))
	r.bus.SetState(model.DeviceState{Device: "ems", Online: false, Error: "timeout again"}, 1, 1)
	testenv.Eventually(t, 30*time.Second, "two more payloads", func() bool {
		r.bus.Publish(model.Value{Device: "sma_stp_1", Name: "p_total", Value: 1.0, Quality: model.Good, Time: model.NowMs()})
		return len(payloads(s)) >= n+2
	})
	if st := statusItems(s, "ems"); len(st) != 2 {
		t.Fatalf("status sent again without a level change: %v", st)
	}
	for _, msg := range s.Msgs() {
		if msg.Topic == datalogger.TopicData && msg.Retained {
			t.Fatal("u/data retained")
		}
	}
}

// readySub starts mosquitto_sub and waits until it receives.
func readySub(t *testing.T, addr string, filters ...string) *mqttcli.Sub {
	t.Helper()
	s := mqttcli.Subscribe(t, addr, nil, append(filters, "ready")...)
	testenv.Eventually(t, 20*time.Second, "mosquitto_sub subscribed", func() bool {
		_ = mqttcli.Publish(t, addr, "ready", "1")
		return s.Count("ready") > 0
	})
	return s
}

// statusItems lists the _s of a device in every payload so far.
func statusItems(s *mqttcli.Sub, dev string) []string {
	var out []string
	for _, p := range payloads(s) {
		if rec := record(p, dev); rec != nil && rec["_s"] != nil {
			b, _ := json.Marshal(rec["_s"])
			out = append(out, string(b))
		}
	}
	return out
}

// TestMeta: u/meta/* are cleared with an empty retained message, then
// published retained as plain text.
func TestMeta(t *testing.T) {
	addr := mqttcli.StartBroker(t, "")
	s := readySub(t, addr, "u/meta/#")
	r := startOn(t, addr, datalogger.Config{})
	late := func() *mqttcli.Sub { return mqttcli.Subscribe(t, r.addr, nil, "u/meta/#") }
	testenv.Eventually(t, 20*time.Second, "four retained meta topics", func() bool {
		n := 0
		for _, k := range []string{"boot_time", "start_time", "snap_rev", "arch"} {
			if m, ok := s.Last("u/meta/" + k); ok && m.Payload != "" {
				n++
			}
		}
		return n == 4
	})
	for _, k := range []string{"boot_time", "start_time", "snap_rev", "arch"} {
		var seq []string
		for _, m := range s.Msgs() {
			if m.Topic == "u/meta/"+k {
				seq = append(seq, m.Payload)
			}
		}
		if len(seq) != 2 || seq[0] != "" || seq[1] == "" {
			t.Errorf("u/meta/%s: %q, want an empty message, then the value", k, seq)
		}
	}
	if m, _ := s.Last("u/meta/snap_rev"); m.Payload != "v9.9.9" {
		t.Errorf("snap_rev %q", m.Payload)
	}
	if m, _ := s.Last("u/meta/start_time"); !strings.HasSuffix(m.Payload, "Z") {
		t.Errorf("start_time %q", m.Payload)
	}
	l := late()
	testenv.Eventually(t, 20*time.Second, "the meta topics retained for a later subscriber", func() bool {
		m, ok := l.Last("u/meta/arch")
		return ok && m.Retained && m.Payload != ""
	})
}

// TestDownlink: d/command lists are answered one by one on
// u/command_response; d/config goes to the controller (gridbox configs) or
// is refused on u/log/msg (datalogger-format configs, bad configs,
// retained messages, remote_config off).
func TestDownlink(t *testing.T) {
	addr := mqttcli.StartBroker(t, "")
	// A retained config on the broker is not applied at every connect.
	if err := mqttcli.Publish(t, addr, datalogger.TopicConfig, `{"site": "stored", "devices": []}`, "-r"); err != nil {
		t.Fatal(err)
	}
	r := startOn(t, addr, datalogger.Config{RemoteConfig: true, Commands: []string{"ping", "reload", "sys_reboot"}})
	testenv.Eventually(t, 20*time.Second, "the retained config refused", func() bool { return r.counts.get("refused") == 1 })
	// d/command was subscribed before d/config: the dialect hears it now.
	s := readySub(t, r.addr, "u/#")
	if err := mqttcli.Publish(t, r.addr, datalogger.TopicCommand, `["ping","snap_refresh","nope","sys_reboot","reload"]`); err != nil {
		t.Fatal(err)
	}
	var answers []string
	testenv.Eventually(t, 20*time.Second, "answers to a command list", func() bool {
		answers = nil
		for _, m := range s.Msgs() {
			if m.Topic == datalogger.TopicCommandResponse {
				answers = append(answers, m.Payload)
			}
		}
		return len(answers) >= 5
	})
	want := []string{"ping: pong ", "snap_refresh: not allowed", "nope: unknown command", "sys_reboot: not supported", "reload: reloading"}
	for i, w := range want {
		if !strings.HasPrefix(answers[i], w) {
			t.Errorf("answer %d: %q, want %q…", i, answers[i], w)
		}
	}
	testenv.Eventually(t, 10*time.Second, "the reload", func() bool { _, n := r.ctl.get(); return n >= 1 })

	_ = mqttcli.Publish(t, r.addr, datalogger.TopicCommand, `{"cmd": "ping"}`)
	_ = mqttcli.Publish(t, r.addr, datalogger.TopicConfig, `{"devices": {"sma": {"driver": "sma_stp"}}, "readings": {}}`)
	_ = mqttcli.Publish(t, r.addr, datalogger.TopicConfig, `{"site": "bad"}`)
	_ = mqttcli.Publish(t, r.addr, datalogger.TopicConfig, `{"site": "home", "devices": []}`)
	testenv.Eventually(t, 20*time.Second, "the config applied", func() bool { a, _ := r.ctl.get(); return len(a) == 1 })
	if a, _ := r.ctl.get(); len(a) != 1 || !strings.Contains(a[0], `"home"`) {
		t.Fatalf("applied %q", a)
	}
	testenv.Eventually(t, 20*time.Second, "four log messages", func() bool { return s.Count(datalogger.TopicLog) >= 4 })
	var logs []string
	for _, m := range s.Msgs() {
		if m.Topic == datalogger.TopicLog {
			logs = append(logs, m.Payload)
		}
	}
	for i, w := range []string{"d/command refused: want a JSON list", "d/config refused: this is a datalogger-format config", "d/config refused: site: bad", "d/config applied: config cfg42"} {
		if !strings.HasPrefix(logs[i], w) {
			t.Errorf("log %d: %q, want %q…", i, logs[i], w)
		}
	}
	if r.counts.get("refused") != 6 { // the retained config, snap_refresh, nope, the bad list, two configs
		t.Errorf("refused count %d", r.counts.get("refused"))
	}
}

func TestRemoteConfigOff(t *testing.T) {
	r := start(t, datalogger.Config{})
	s := mqttcli.Subscribe(t, r.addr, nil, "u/log/msg")
	testenv.Eventually(t, 20*time.Second, "the refusal", func() bool {
		if s.Count(datalogger.TopicLog) == 0 {
			_ = mqttcli.Publish(t, r.addr, datalogger.TopicConfig, `{"site": "home"}`)
			time.Sleep(200 * time.Millisecond) // pace the retries until the dialect has subscribed
		}
		m, ok := s.Last(datalogger.TopicLog)
		return ok && strings.Contains(m.Payload, "remote_config: false")
	})
	if a, _ := r.ctl.get(); len(a) != 0 {
		t.Fatalf("applied with remote_config off: %v", a)
	}
}
