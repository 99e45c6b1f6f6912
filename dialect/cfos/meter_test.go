package cfos

import (
	"strings"
	"testing"
)

// TestDecodeMeter: meter inputs are read as documented; bad ones are
// refused with a reason naming what was wrong.
func TestDecodeMeter(t *testing.T) {
	in, err := decodeMeter([]byte(`{"model": "TestModell", "import_wh": 12345, "export_wh": 23456, "voltage": [231, 232, 233], "current": [10001, 10002, 10003]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, v := range in.values("m3", 1) {
		got[v.Name] = v.Value
	}
	want := map[string]any{"model": "TestModell", "energy_import": 12345.0, "energy_export": 23456.0,
		"voltage_l1": 231.0, "voltage_l3": 233.0, "current_l1": 10.001, "current_l3": 10.003}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, has := got["ac_power"]; has || len(got) != 9 {
		t.Errorf("values %v: want the 9 given, no ac_power", got)
	}
	for payload, reason := range map[string]string{
		`not json`:                      "not a JSON object",
		`{"current": "lots"}`:           "not a JSON object",
		`{"current": [1, 2, 3, 4]}`:     "at most 3",
		`{"unrelated": 1}`:              "none of model",
		`{"power_w": 1} {"power_w": 2}`: "more than one JSON value",
		`[1, 2]`:                        "not a JSON object",
	} {
		if _, err := decodeMeter([]byte(payload)); err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: error %v, want one containing %q", payload, err, reason)
		}
	}
}

// TestMeterIDs: set/<id> makes lower-case device ids, or the mapped ones only.
func TestMeterIDs(t *testing.T) {
	x := newIDs(Config{})
	if dev, err := x.meter("M3"); err != nil || dev != "m3" {
		t.Errorf("M3 → %q %v", dev, err)
	}
	if _, err := x.meter("Zähler 1"); err == nil {
		t.Error("an id that is no device id was accepted")
	}
	x = newIDs(Config{Meters: map[string]string{"M3": "grid"}})
	if dev, err := x.meter("M3"); err != nil || dev != "grid" {
		t.Errorf("mapped M3 → %q %v", dev, err)
	}
	if _, err := x.meter("M4"); err == nil || !strings.Contains(err.Error(), "not listed") {
		t.Errorf("unlisted M4: %v", err)
	}
}

// TestMeterRefusals: set/<id> does not take over another driver's device,
// nor make more than max_meters devices; a retained request is never queued.
func TestMeterRefusals(t *testing.T) {
	r := newRig(t)
	r.d.cfg.MaxMeters = 1
	r.pub("cfos_mqtt/set/WB1", `{"power_w": 1}`)
	if st, _ := r.b.Device("wb1"); st.Driver != "test" || r.counts["malformed"] != 1 {
		t.Fatalf("set/WB1 on charger wb1: driver %q, malformed %d", st.Driver, r.counts["malformed"])
	}
	r.pub("cfos_mqtt/set/M3", `{"power_w": 1}`)
	r.pub("cfos_mqtt/set/M4", `{"power_w": 1}`)
	if _, ok := r.b.Device("m4"); ok || r.counts["malformed"] != 2 {
		t.Fatalf("a second meter beyond max_meters 1: malformed %d", r.counts["malformed"])
	}
	if _, _, _, ok := r.b.Datapoint("m3", "ac_power"); !ok {
		t.Fatal("m3 not made")
	}
	msgs := r.conn.take()
	if got := on(msgs, "log"); !containsAny(got, "device wb1 exists") || !containsAny(got, "max_meters") {
		t.Fatalf("log lines %q: want the reasons", got)
	}
	r.d.onMessage("cfos_mqtt/ctl", []byte(`{"E1": {"cur": 0}}`), true)
	if len(r.d.reqs) != 0 || r.counts["refused"] != 1 {
		t.Fatalf("a retained ctl was queued (%d) or not counted (%d)", len(r.d.reqs), r.counts["refused"])
	}
}
