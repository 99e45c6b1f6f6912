package cfos

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

// step is one cycle: messages in, then one load management cycle; the
// charger writes of the cycle ("; "-joined, "(cfos)" marks the dialect's
// own writes) and messages expected on topics below the root (a substring
// of the payload; "" = the topic is not published).
type step struct {
	name   string
	in     [][2]string // topic below the root, payload
	do     func(*rig)
	writes string
	out    map[string]string
}

func meterMsg(a float64) [2]string {
	mA, _ := json.Marshal([]float64{a * 1000, a * 1000, a * 1000})
	return [2]string{"set/M3", `{"model": "TestModell", "import_wh": 12345, "export_wh": 23456, "voltage": [231, 232, 233], "current": ` + string(mA) + `}`}
}

func runSteps(t *testing.T, r *rig, steps []step) {
	t.Helper()
	for i, st := range steps {
		r.writes = nil
		for _, m := range st.in {
			r.pub("cfos_mqtt/"+m[0], m[1])
		}
		if st.do != nil {
			st.do(r)
		}
		r.cycle()
		msgs := r.conn.take()
		if got := strings.Join(r.writes, "; "); got != st.writes {
			t.Fatalf("step %d (%s): writes\n  %q\nwant\n  %q", i, st.name, got, st.writes)
		}
		for topic, want := range st.out {
			got := on(msgs, topic)
			switch {
			case want == "" && len(got) > 0:
				t.Fatalf("step %d (%s): %s published %q, want nothing", i, st.name, topic, got)
			case want != "" && !containsAny(got, want):
				t.Fatalf("step %d (%s): %s published %q, want one containing %s", i, st.name, topic, got, want)
			}
		}
	}
}

// TestChargingManagerCycles drives load management through the charging
// manager's topics only: meter input, set_params, ctl, set_cm_vars, and
// reads the documented state back; duplicates change nothing.
func TestChargingManagerCycles(t *testing.T) {
	r := newRig(t)
	r.b.Publish(model.Value{Device: "wb1", Name: "energy_total", Value: 1000.0, Time: model.NowMs(), Quality: model.Good})
	runSteps(t, r, []step{
		{name: "no meter yet: safe current", writes: "wb1/max_current=6; wb2/max_current=6",
			out: map[string]string{"get/params": `"max_total_current":32000`, "get/E1": `"reason":"site meter stale: safe current"`}},
		{name: "meter 10 A: 11 A each", in: [][2]string{meterMsg(10)}, writes: "wb1/max_current=11; wb2/max_current=11",
			out: map[string]string{"get/M3": `"current":[10000,10000,10000]`, "get/E1": `"charging_cur":11000,"cur_limit":16000,"dev_id":"E1","device":"wb1","enabled":true,"is_evse":true,"max_cur":16000,"online":true,"reason":"allocated","state":"charging"`,
				"get/dev_info": `"dev_id":"M3"`, "log": "E1: 11 A (allocated)"}},
		{name: "the same meter input again: nothing new", in: [][2]string{meterMsg(10), meterMsg(10)}, writes: "",
			out: map[string]string{"get/E1": "", "get/params": ""}},
		{name: "meter 20 A: 6 A each", in: [][2]string{meterMsg(20)}, writes: "wb1/max_current=6; wb2/max_current=6"},
		{name: "75 %, meter 10 A: 24 - 10 = 7 each", in: [][2]string{meterMsg(10), {"api/cmd=set_params", `{"max_total_cur_prc": 75}`}},
			writes: "wb1/max_current=7; wb2/max_current=7",
			out: map[string]string{"api_res": `{"query":"cmd=set_params","cmd":"set_params","ok":true}`,
				"get/params": `"max_total_cur_prc":75`}},
		{name: "set_params duplicated", in: [][2]string{{"api/cmd=set_params", `{"max_total_cur_prc": 75}`}}, writes: "",
			out: map[string]string{"api_res": `"ok":true,"unchanged":true`}},
		{name: "ctl E1 5 A: below its minimum, E2 takes the rest", in: [][2]string{{"ctl", `{"E1": {"cur": 5000}}`}},
			writes: "wb1/max_current=0; wb2/max_current=14", out: map[string]string{"get/E1": `"cur_limit":5000`}},
		{name: "ctl E1 8 A twice: equal shares of 14 A", in: [][2]string{{"ctl", `{"E1": {"cur": 8000}}`}, {"ctl", `{"E1": {"cur": 8000}}`}},
			writes: "wb1/max_current=7; wb2/max_current=7"},
		{name: "ctl E2 disabled", in: [][2]string{{"ctl", `{"E2": {"ena": false, "wke": true}}`}},
			writes: "wb2/enabled=false(cfos); wb1/max_current=8; wb2/max_current=0", out: map[string]string{"get/E2": `"reason":"disabled (enabled is false)"`}},
		{name: "set_cm_vars mode=priority", in: [][2]string{{"api/cmd=set_cm_vars&name=mode&val=priority", ""}}, writes: "",
			out: map[string]string{"api_res": `"ok":true`, "get/params": `"mode":"priority"`}},
		{name: "unknown variable", in: [][2]string{{"api/cmd=set_cm_vars&name=x&val=1", ""}}, writes: "",
			out: map[string]string{"api_res": `variable \"x\" is not mapped`}},
		{name: "unknown command", in: [][2]string{{"api/cmd=reboot", ""}}, writes: "",
			out: map[string]string{"api_res": `unknown cmd \"reboot\" (supported: enter_rfid, set_cm_vars, set_params)`}},
		{name: "enter_rfid on a charger without RFID", in: [][2]string{{"api/cmd=enter_rfid&rfid=5678&dev_id=E1", ""}}, writes: "",
			out: map[string]string{"api_res": `charger wb1 takes no RFID`}},
		{name: "malformed meter input", in: [][2]string{{"set/M3", `{"current": "lots"}`}}, writes: "",
			out: map[string]string{"log": "meter input refused"}},
		{name: "wb1 unplugged: one transaction", do: func(r *rig) {
			r.b.Publish(model.Value{Device: "wb1", Name: "energy_total", Value: 1500.0, Time: model.NowMs(), Quality: model.Good},
				model.Value{Device: "wb1", Name: "status", Value: "available", Time: model.NowMs(), Quality: model.Good})
		}, writes: "wb1/max_current=0", out: map[string]string{"ta_log": `"energy_wh":500,"meter_start_wh":1000,"meter_end_wh":1500`, "get/E1": `"state":"available"`}},
		{name: "meter input times out (both chargers at 0 already)", do: func(r *rig) { r.d.staleMeters(time.Now().Add(time.Hour)) },
			writes: "", out: map[string]string{"get/M3": `"online":false`, "log": "meter input stale"}},
	})
	want := map[string]int{"malformed": 1, "api_unknown": 1, "refused": 3, "unsupported": 1, "meter_stale": 1, "transaction": 1}
	for w, n := range want {
		if r.counts[w] != n {
			t.Errorf("count %s = %d, want %d (all: %v)", w, r.counts[w], n, r.counts)
		}
	}
	if r.counts["duplicate"] < 2 {
		t.Errorf("duplicates counted %d, want at least 2 (set_params, ctl)", r.counts["duplicate"])
	}
}
