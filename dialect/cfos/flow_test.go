package cfos_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/sim"
)

const wait = 30 * time.Second

// TestChargingManagerTopics (acceptance 4): a gateway with load management
// over two simulated Modbus wallboxes and the cfos dialect on its broker;
// mosquitto_pub and mosquitto_sub are the outside charging-manager
// clients. Meter input on set/M3 drives the allocation; api/cmd=set_params,
// ctl and set_cm_vars take effect and are answered on api_res; get/...
// report the state; duplicated publishes write once.
func TestChargingManagerTopics(t *testing.T) {
	mbpoll := testenv.Tool(t, "mbpoll")
	var wbs []*sim.Server
	for range 2 {
		s, err := sim.Start(context.Background(), "wallbox-sim", "127.0.0.1:0", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		wbs = append(wbs, s)
	}
	gw := startGateway(t, fmt.Sprintf(`site: test
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q}
loadmanagement:
  interval: 300ms
  site_max_current: 32
  meter: m3
  raise_delay: 0s
  chargers: [{device: wb1, max_current: 16}, {device: wb2, max_current: 16}]
dialects:
  cfos:
    root: %s
    interval: 200ms
    wallboxes: {E1: wb1, E2: wb2}
    vars: {mode: loadmanagement/mode}
devices:
  - {id: wb1, driver: modbus, url: "tcp://%s", profile: wallbox-sim, interval: 200ms, write_gap: 100ms}
  - {id: wb2, driver: modbus, url: "tcp://%s", profile: wallbox-sim, interval: 200ms, write_gap: 100ms}
`, t.TempDir(), root, wbs[0].Addr(), wbs[1].Addr()))
	addr, b := gw.MQTTAddr(), gw.Bus()
	api := "http://" + gw.HTTPAddr() + "/api/v1"
	sub := mqttcli.Subscribe(t, addr, nil, root+"/#")
	pub := func(topic, payload string) {
		t.Helper()
		if err := mqttcli.Publish(t, addr, root+"/"+topic, payload); err != nil {
			t.Fatal(err)
		}
	}
	charging := func(id string) float64 { return num(state(sub, id)["charging_cur"]) }
	wallbox := func(dev string) float64 {
		_, v, _, _ := b.Datapoint(dev, "max_current")
		return num(v.Value)
	}

	// Meter input: other load 10 A of 32 A leaves 11 A for each wallbox.
	meter := startMeterBridge(t, addr, b, 10)
	testenv.Eventually(t, wait, "11 A each (get/E1, get/E2 and the wallboxes' registers)", func() bool {
		return charging("E1") == 11000 && charging("E2") == 11000 && wallbox("wb1") == 11 && wallbox("wb2") == 11
	})
	if a1, a2 := allowed(t, mbpoll, wbs[0].Addr()), allowed(t, mbpoll, wbs[1].Addr()); a1 != 11 || a2 != 11 {
		t.Fatalf("mbpoll reads %v A and %v A allowed, want 11 A each", a1, a2)
	}
	m3 := state(sub, "M3")
	if m3["model"] != "TestModell" || m3["import_wh"] != 12345.0 || m3["is_evse"] != false || m3["device"] != "m3" {
		t.Errorf("get/M3 = %v", m3)
	}
	// More other load: 20 A leaves 6 A each.
	meter.base.Store(20)
	testenv.Eventually(t, wait, "6 A each after the meter's 20 A", func() bool {
		return charging("E1") == 6000 && charging("E2") == 6000 && wallbox("wb1") == 6
	})
	meter.base.Store(10)
	testenv.Eventually(t, wait, "11 A each again", func() bool { return charging("E1") == 11000 && charging("E2") == 11000 })

	// set_params 75 %: 24 A minus 10 A leaves 7 A each; the duplicate is answered unchanged.
	pub("api/cmd=set_params", `{"max_total_cur_prc": 75}`)
	pub("api/cmd=set_params", `{"max_total_cur_prc": 75}`)
	testenv.Eventually(t, wait, "7 A each at 75 %", func() bool {
		p := state(sub, "params")
		return charging("E1") == 7000 && charging("E2") == 7000 && p["max_total_cur_prc"] == 75.0 && p["total_current_limit"] == 24000.0
	})
	testenv.Eventually(t, wait, "two answers", func() bool { return len(answers(sub)) == 2 })
	a := answers(sub)
	if a[0]["ok"] != true || a[0]["cmd"] != "set_params" || a[1]["ok"] != true || a[1]["unchanged"] != true {
		t.Fatalf("api_res = %v, want ok, then ok unchanged", a)
	}
	if recs := audit(t, api, "loadmanagement/max_total_cur_prc"); len(recs) != 1 || recs[0].Source != "cfos" || recs[0].Value != 75.0 {
		t.Fatalf("audit of max_total_cur_prc: %+v, want one write by cfos", recs)
	}

	// ctl: E1 capped at 6 A (twice), E2 disabled.
	pub("ctl", `{"E1": {"cur": 6000, "wke": true}}`)
	pub("ctl", `{"E1": {"cur": 6000, "wke": true}}`)
	testenv.Eventually(t, wait, "E1 limited to 6 A, E2 8 A (get/E1, get/E2, mbpoll)", func() bool {
		e1 := state(sub, "E1")
		return e1["cur_limit"] == 6000.0 && charging("E1") == 6000 && charging("E2") == 8000 &&
			allowed(t, mbpoll, wbs[0].Addr()) == 6 && allowed(t, mbpoll, wbs[1].Addr()) == 8
	})
	if recs := audit(t, api, "loadmanagement/wb1_current_limit"); len(recs) != 1 || recs[0].Source != "cfos" {
		t.Fatalf("audit of wb1_current_limit: %+v, want one write by cfos for the duplicated ctl", recs)
	}
	pub("ctl", `{"E2": {"ena": false}}`)
	testenv.Eventually(t, wait, "E2 disabled and at 0", func() bool {
		e2 := state(sub, "E2")
		return e2["enabled"] == false && charging("E2") == 0 && strings.HasPrefix(fmt.Sprint(e2["reason"]), "disabled")
	})

	// set_cm_vars maps to load management's mode; unknown calls are errors.
	pub("api/cmd=set_cm_vars&name=mode&val=priority", "")
	pub("api/cmd=enter_rfid&rfid=5678&dev_id=E1", "")
	pub("api/cmd=reboot", "")
	testenv.Eventually(t, wait, "mode priority in get/params and three more answers", func() bool {
		return state(sub, "params")["mode"] == "priority" && len(answers(sub)) == 5
	})
	a = answers(sub)
	if a[2]["ok"] != true || a[3]["ok"] != false || !strings.Contains(fmt.Sprint(a[3]["error"]), "takes no RFID") ||
		a[4]["ok"] != false || !strings.Contains(fmt.Sprint(a[4]["error"]), `unknown cmd "reboot"`) {
		t.Fatalf("api_res = %v", a[2:])
	}

	// Malformed meter input is refused, counted and logged on log.
	pub("set/M3", `{"current": [1, 2, 3, 4]}`)
	metrics := "http://" + gw.HTTPAddr() + "/metrics"
	testenv.Eventually(t, wait, "malformed input counted and logged", func() bool {
		l, ok := sub.Last(root + "/log")
		return testenv.Metric(t, metrics, `gridbox_dialect_messages_total{dialect="cfos",sink="dialects",what="malformed"}`) == 1 &&
			ok && strings.Contains(l.Payload, "meter input refused")
	})
	if n := testenv.Metric(t, metrics, `gridbox_dialect_messages_total{dialect="cfos",sink="dialects",what="api_unknown"}`); n != 1 {
		t.Errorf("api_unknown = %v, want 1", n)
	}
	info := state(sub, "dev_info")
	devs, _ := info["devices"].([]any)
	if len(devs) != 3 || info["params"] == nil {
		t.Errorf("get/dev_info = %v, want params and three devices (E1, E2, M3)", info)
	}
}
