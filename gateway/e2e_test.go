package gateway_test

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// demoDevices starts the three simulators the demo uses.
func demoDevices(t *testing.T) []testDevice {
	return []testDevice{
		{"room", "demo-room", startSim(t, "demo-room", "").Addr()},
		{"pv", "sma-stp", startSim(t, "sma-stp", "").Addr()},
		{"meter", "janitza-umg96rm", startSim(t, "janitza-umg96rm", "").Addr()},
	}
}

// TestValuesReachMQTTAndAPI: simulated devices → bus → embedded broker topics
// (retained values and $meta) and the REST API's datapoint list.
func TestValuesReachMQTTAndAPI(t *testing.T) {
	gw := startGateway(t, "embedded", demoDevices(t), t.TempDir())
	w := watch(t, "tcp://"+gw.MQTTAddr(), "gridbox/#")
	waitFor(t, 10*time.Second, "pv/ac_power = 12345", func() bool {
		m, ok := w.get("gridbox/pv/ac_power")
		return ok && strings.Contains(m.payload, `"value":12345`)
	})
	for _, topic := range []string{"gridbox/room/temperature", "gridbox/meter/ac_power", "gridbox/meter/voltage_l1"} {
		waitFor(t, 10*time.Second, topic, func() bool { _, ok := w.get(topic); return ok })
		p := payloadOf(t, mustGet(t, w, topic).payload)
		if p["quality"] != "good" || p["timestamp"] == nil {
			t.Errorf("%s payload %v", topic, p)
		}
	}
	// $meta is published at connect, before any value: a subscriber that
	// connects now must get it as a retained message.
	fresh := watch(t, "tcp://"+gw.MQTTAddr(), "gridbox/$meta/#")
	waitFor(t, 10*time.Second, "$meta/room/setpoint for a new subscriber", func() bool {
		_, ok := fresh.get("gridbox/$meta/room/setpoint")
		return ok
	})
	meta := payloadOf(t, mustGet(t, fresh, "gridbox/$meta/room/setpoint").payload)
	if meta["kind"] != "actuator" || meta["max"] != 30.0 || meta["min"] != 15.0 || meta["unit"] != "°C" {
		t.Errorf("$meta/room/setpoint = %v", meta)
	}
	if !fresh.wasRetained("gridbox/$meta/room/setpoint") {
		t.Error("$meta not retained")
	}
	var pts []map[string]any
	if code := getJSON(t, "http://"+gw.HTTPAddr()+"/api/v1/datapoints", &pts); code != 200 {
		t.Fatalf("datapoints: %d", code)
	}
	found := map[string]any{}
	for _, p := range pts {
		if v, ok := p["value"].(map[string]any); ok {
			found[fmt.Sprint(p["device"], "/", p["name"])] = v["value"]
		}
	}
	if found["pv/ac_power"] != 12345.0 || found["room/temperature"] == nil || found["meter/ac_power"] == nil {
		t.Errorf("API last values: %v", found)
	}
}

func mustGet(t *testing.T, w *watcher, topic string) msg {
	t.Helper()
	waitFor(t, 10*time.Second, topic, func() bool { _, ok := w.get(topic); return ok })
	m, _ := w.get(topic)
	return m
}

// TestSetpointWriteOverMQTT: a valid write is applied and answered ok, the
// room follows it; an out-of-range write is refused and never reaches the
// device, as an independent Modbus master (mbpoll) confirms.
func TestSetpointWriteOverMQTT(t *testing.T) {
	devs := demoDevices(t)
	gw := startGateway(t, "embedded", devs, t.TempDir())
	w := watch(t, "tcp://"+gw.MQTTAddr(), "gridbox/#")
	mustGet(t, w, "gridbox/room/setpoint")

	w.publish(t, "gridbox/room/setpoint/set", "26")
	waitFor(t, 10*time.Second, "ok result", func() bool {
		m, ok := w.get("gridbox/room/setpoint/set/result")
		return ok && strings.Contains(m.payload, `"ok":true`)
	})
	res := payloadOf(t, mustGet(t, w, "gridbox/room/setpoint/set/result").payload)
	if res["value"] != 26.0 {
		t.Fatalf("result %v", res)
	}
	// Without the write the room never passes its start setpoint of 24 °C.
	waitFor(t, 30*time.Second, "temperature above 24", func() bool {
		m, ok := w.get("gridbox/room/temperature")
		return ok && payloadNumber(t, m.payload) > 24.05
	})
	// The store commits within its flush interval; the history shows the rise too.
	waitFor(t, 10*time.Second, "history above 24", func() bool {
		var hist struct {
			Samples []struct{ Value any } `json:"samples"`
		}
		getJSON(t, "http://"+gw.HTTPAddr()+"/api/v1/datapoints/room/temperature/history?from=0", &hist)
		for _, s := range hist.Samples {
			if f, ok := s.Value.(float64); ok && f > 24.05 {
				return true
			}
		}
		return false
	})

	w.forget("gridbox/room/setpoint/set/result")
	time.Sleep(150 * time.Millisecond) // past the write gap, so the refusal is the limit's
	w.publish(t, "gridbox/room/setpoint/set", `{"value": 40}`)
	m := mustGet(t, w, "gridbox/room/setpoint/set/result")
	if res := payloadOf(t, m.payload); res["ok"] != false || !strings.Contains(fmt.Sprint(res["error"]), "above max 30") {
		t.Fatalf("write of 40 answered %s", m.payload)
	}
	mbpoll := requireTool(t, "mbpoll")
	host, port := splitAddr(t, devs[0].addr)
	out, err := exec.Command(mbpoll, "-m", "tcp", "-a", "1", "-r", "2", "-c", "1", "-t", "4:hex", "-1", "-p", port, host).CombinedOutput()
	if err != nil {
		t.Fatalf("mbpoll: %v\n%s", err, out)
	}
	// 26.0 as float16 is 0x4E80, stored little-endian inside the register: 0x804E.
	if !strings.Contains(string(out), "0x804E") {
		t.Fatalf("mbpoll shows the setpoint register changed from 26 °C:\n%s", out)
	}

	// A REST write too; then the audit log holds all three with their sources.
	time.Sleep(150 * time.Millisecond) // past the write gap
	req, _ := http.NewRequest("PUT", "http://"+gw.HTTPAddr()+"/api/v1/datapoints/room/setpoint/value", strings.NewReader(`{"value": 25}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("REST write: %d", resp.StatusCode)
	}
	var recs []struct {
		Time              int64
		Source, Datapoint string
		Old, Value        any
		Result, Error     string
	}
	if code := getJSON(t, "http://"+gw.HTTPAddr()+"/api/v1/audit?from=0&datapoint=room/setpoint", &recs); code != 200 || len(recs) != 3 {
		t.Fatalf("audit: %d %+v", code, recs)
	}
	want := [][3]any{{"mqtt", 26.0, "applied"}, {"mqtt", 40.0, "refused"}, {"rest", 25.0, "applied"}}
	for i, r := range recs {
		if r.Source != want[i][0] || r.Value != want[i][1] || r.Result != want[i][2] || r.Datapoint != "room/setpoint" || r.Time <= 0 {
			t.Errorf("audit record %d: %+v, want %v", i, r, want[i])
		}
	}
	if recs[0].Old != 24.0 || !strings.Contains(recs[1].Error, "above max 30") {
		t.Errorf("audit: old value %v (want the start setpoint 24), refusal %q", recs[0].Old, recs[1].Error)
	}
}

func payloadNumber(t *testing.T, s string) float64 {
	f, _ := payloadOf(t, s)["value"].(float64)
	return f
}

func splitAddr(t *testing.T, addr string) (string, string) {
	u, err := url.Parse("tcp://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	return u.Hostname(), u.Port()
}

// TestHistoryAgreesWithRaw: interval means from the store equal the means of
// the raw values in each bucket.
func TestHistoryAgreesWithRaw(t *testing.T) {
	gw := startGateway(t, "embedded", demoDevices(t)[2:], t.TempDir())
	time.Sleep(6 * time.Second)
	// Values up to `to` are committed by now (flush interval 100 ms), so both queries see the same rows.
	to := time.Now().UnixMilli() - 1500
	base := fmt.Sprintf("http://%s/api/v1/datapoints/meter/voltage_l1/history?from=0&to=%d", gw.HTTPAddr(), to)
	var raw, agg struct {
		Samples []struct {
			Timestamp int64
			Value     float64
		} `json:"samples"`
	}
	getJSON(t, base, &raw)
	getJSON(t, base+"&interval=2s&agg=mean", &agg)
	if len(raw.Samples) < 6 || len(agg.Samples) < 2 {
		t.Fatalf("too few samples: raw %d agg %d", len(raw.Samples), len(agg.Samples))
	}
	sums, counts := map[int64]float64{}, map[int64]int{}
	for _, s := range raw.Samples {
		b := s.Timestamp / 2000 * 2000
		sums[b] += s.Value
		counts[b]++
	}
	if len(agg.Samples) != len(counts) {
		t.Errorf("%d buckets, raw values fall in %d", len(agg.Samples), len(counts))
	}
	for _, a := range agg.Samples {
		want := sums[a.Timestamp] / float64(counts[a.Timestamp])
		if counts[a.Timestamp] == 0 || math.Abs(want-a.Value) > 1e-9 {
			t.Errorf("bucket %d: mean %v, raw mean %v of %d values", a.Timestamp, a.Value, want, counts[a.Timestamp])
		}
	}
}

// TestLastValuesRestoredAtStart: after a restart on the same store, the last
// values are there before the device answers again (here: never).
func TestLastValuesRestoredAtStart(t *testing.T) {
	dir := t.TempDir()
	pv := startSim(t, "sma-stp", "")
	gw, stop := startStoppable(t, "embedded", []testDevice{{"pv", "sma-stp", pv.Addr()}}, dir)
	waitFor(t, 10*time.Second, "pv/ac_power stored", func() bool {
		var h struct{ Samples []any }
		getJSON(t, "http://"+gw.HTTPAddr()+"/api/v1/datapoints/pv/ac_power/history?from=0", &h)
		return len(h.Samples) > 0
	})
	stop()

	gw = startGateway(t, "embedded", []testDevice{{"pv", "sma-stp", freePort(t)}}, dir)
	var p struct {
		Value *struct{ Value any } `json:"value"`
	}
	if code := getJSON(t, "http://"+gw.HTTPAddr()+"/api/v1/datapoints/pv/ac_power", &p); code != 200 || p.Value == nil || p.Value.Value != 12345.0 {
		t.Fatalf("restored last value: %d %+v", code, p.Value)
	}
}
