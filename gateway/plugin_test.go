package gateway_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/testdriver"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/internal/testsink"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// metric reads one series of the gateway's /metrics (-1 if absent).
func metric(t *testing.T, gw *gateway.Gateway, series string) float64 {
	t.Helper()
	return testenv.Metric(t, "http://"+gw.HTTPAddr()+"/metrics", series)
}

// TestSinkKindPlugin: a sink kind from its own folder (internal/testsink),
// registered with one line (Options.Sinks), gets its section, two named
// instances and the bus's values, with its own counters in /metrics.
func TestSinkKindPlugin(t *testing.T) {
	rec := &testsink.Recorder{}
	room := startSim(t, "demo-room", "")
	pv := startSim(t, "sma-stp", "")
	src := fmt.Sprintf(`http: {listen: "127.0.0.1:0", auth: none}
mqtt: []
store: {path: %q}
record:
  - {}
  - {name: room-only, device: room}
devices:
  - {id: room, driver: modbus, url: "tcp://%s", profile: demo-room, interval: 200ms}
  - {id: pv, driver: modbus, url: "tcp://%s", profile: sma-stp, interval: 200ms}
`, t.TempDir(), room.Addr(), pv.Addr())
	gw, _ := startConfig(t, src, gateway.Options{Sinks: []sink.Kind{testsink.Kind(rec)}})
	testenv.Eventually(t, 10*time.Second, "values of both devices in the first instance", func() bool {
		devs := map[string]bool{}
		for _, v := range rec.Values("record") {
			devs[v.Device] = true
		}
		return devs["room"] && devs["pv"]
	})
	testenv.Eventually(t, 10*time.Second, "room values in room-only", func() bool { return len(rec.Values("room-only")) > 0 })
	for _, v := range rec.Values("room-only") {
		if v.Device != "room" {
			t.Fatalf("room-only got %+v", v)
		}
	}
	for _, name := range []string{"record", "room-only"} {
		if n := metric(t, gw, fmt.Sprintf(`gridbox_sink_values_out_total{sink=%q}`, name)); n < 1 {
			t.Errorf("gridbox_sink_values_out_total{sink=%q} = %v", name, n)
		}
	}
	if gw.MQTTAddr() != "" {
		t.Errorf("mqtt: [] still started an MQTT sink at %s", gw.MQTTAddr())
	}
}

// TestTwoMQTTSinks: `mqtt:` as a list publishes every value to both brokers
// (the embedded one and a Mosquitto), takes writes from both, and each
// instance counts apart in /metrics.
func TestTwoMQTTSinks(t *testing.T) {
	_, mq := newMosquitto(t)
	room := startSim(t, "demo-room", "")
	src := fmt.Sprintf(`http: {listen: "127.0.0.1:0", auth: none}
mqtt:
  - {broker: embedded, listen: "127.0.0.1:0", prefix: gridbox}
  - {broker: "mqtt://%s", prefix: site7}
store: {path: %q}
devices:
  - {id: room, driver: modbus, url: "tcp://%s", profile: demo-room, interval: 200ms, write_gap: 0s}
`, mq, t.TempDir(), room.Addr())
	gw, _ := startConfig(t, src, gateway.Options{})
	embedded := watch(t, "tcp://"+gw.MQTTAddr(), "gridbox/#")
	external := watch(t, "tcp://"+mq, "site7/#")
	mustGet(t, embedded, "gridbox/room/temperature")
	mustGet(t, external, "site7/room/temperature")
	for _, c := range []struct {
		w      *watcher
		prefix string
		value  string
	}{{embedded, "gridbox", "24"}, {external, "site7", "25"}} {
		c.w.publish(t, c.prefix+"/room/setpoint/set", c.value)
		waitFor(t, 10*time.Second, c.prefix+" write answered", func() bool {
			m, ok := c.w.get(c.prefix + "/room/setpoint/set/result")
			if ok && !strings.Contains(m.payload, `"ok":true`) {
				t.Fatalf("%s write answered %s", c.prefix, m.payload)
			}
			return ok && strings.Contains(m.payload, `"value":`+c.value)
		})
	}
	for _, name := range []string{"mqtt", "mqtt-2"} {
		series := fmt.Sprintf(`gridbox_mqtt_published_total{sink=%q}`, name)
		if n := metric(t, gw, series); n < 1 {
			t.Errorf("%s = %v", series, n)
		}
		series = fmt.Sprintf(`gridbox_mqtt_writes_total{result="ok",sink=%q}`, name)
		if n := metric(t, gw, series); n != 1 {
			t.Errorf("%s = %v, want 1", series, n)
		}
	}
}

// TestDeviceAppearsAndGoes: a driver announces a device and a datapoint
// while running, then removes them. MQTT gets $meta, $state and the value
// (retained), then empty retained messages that clear them; REST lists the
// datapoint, then answers 404; the history stays.
func TestDeviceAppearsAndGoes(t *testing.T) {
	ctl := make(testdriver.Control)
	src := fmt.Sprintf(`http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q, flush_interval: 100ms}
devices:
  - {id: hub, driver: test}
`, t.TempDir())
	gw, _ := startConfig(t, src, gateway.Options{Drivers: []driver.Factory{testdriver.Factory(ctl)}})
	w := watch(t, "tcp://"+gw.MQTTAddr(), "gridbox/#")
	mustGet(t, w, "gridbox/$state")
	api := "http://" + gw.HTTPAddr() + "/api/v1/datapoints/late/power"

	ctl <- func(out driver.Sink, cat driver.Catalog) {
		pts := []model.Datapoint{{Name: "power", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W", Role: "pv_power"}}}
		if err := cat.AddDevice(model.DeviceState{Device: "late", Driver: "test"}, pts, nil, 0); err != nil {
			t.Error(err)
		}
		out.Publish(model.Value{Device: "late", Name: "power", Value: 42.0, Time: model.NowMs(), Quality: model.Good})
		out.SetState(model.DeviceState{Device: "late", Online: true, LastSeen: model.NowMs()}, 1, 0)
	}
	// First see them published (the sink follows the catalog asynchronously),
	// then check that a subscriber arriving later gets them retained.
	for _, topic := range []string{"gridbox/$meta/late/power", "gridbox/late/power", "gridbox/late/$state"} {
		waitFor(t, 10*time.Second, topic+" published", func() bool { _, ok := w.get(topic); return ok })
	}
	fresh := watch(t, "tcp://"+gw.MQTTAddr(), "gridbox/#")
	for _, topic := range []string{"gridbox/$meta/late/power", "gridbox/late/power", "gridbox/late/$state"} {
		waitFor(t, 10*time.Second, topic+" retained for a new subscriber", func() bool { return fresh.wasRetained(topic) })
	}
	if m := mustGet(t, fresh, "gridbox/$meta/late/power"); !strings.Contains(m.payload, `"role":"pv_power"`) {
		t.Errorf("$meta = %s", m.payload)
	}
	var dp map[string]any
	if code := getJSON(t, api, &dp); code != 200 || dp["unit"] != "W" {
		t.Fatalf("GET late/power: %d %v", code, dp)
	}
	var hist struct{ Samples []any }
	waitFor(t, 10*time.Second, "the value in the history", func() bool {
		getJSON(t, api+"/history?from=0", &hist)
		return len(hist.Samples) == 1
	})

	ctl <- func(_ driver.Sink, cat driver.Catalog) {
		if err := cat.RemoveDevice("late"); err != nil {
			t.Error(err)
		}
	}
	for _, topic := range []string{"gridbox/$meta/late/power", "gridbox/late/power", "gridbox/late/$state"} {
		waitFor(t, 10*time.Second, topic+" cleared", func() bool { m, ok := w.get(topic); return ok && m.payload == "" })
	}
	var e map[string]any
	if code := getJSON(t, api, &e); code != http.StatusNotFound {
		t.Errorf("GET late/power after removal: %d %v, want 404", code, e)
	}
	if code := getJSON(t, api+"/history?from=0", &hist); code != 200 || len(hist.Samples) != 1 {
		t.Errorf("history after removal: %d with %d samples, want 200 with the 1 kept", code, len(hist.Samples))
	}
	after := watch(t, "tcp://"+gw.MQTTAddr(), "gridbox/#")
	mustGet(t, after, "gridbox/$state") // retained messages arrive in one burst after SUBACK
	mustGet(t, after, "gridbox/hub/$state")
	for _, topic := range []string{"gridbox/$meta/late/power", "gridbox/late/power", "gridbox/late/$state"} {
		if after.wasRetained(topic) {
			t.Errorf("%s still retained after removal", topic)
		}
	}
}

// TestUnknownValueCountedAndLoggedOnce: values for a datapoint nobody
// registered are dropped, counted in /metrics and logged once.
func TestUnknownValueCountedAndLoggedOnce(t *testing.T) {
	ctl := make(testdriver.Control)
	var logs testenv.Buffer
	src := fmt.Sprintf(`http: {listen: "127.0.0.1:0", auth: none}
mqtt: []
store: {path: %q}
devices:
  - {id: hub, driver: test}
`, t.TempDir())
	gw, _ := startConfig(t, src, gateway.Options{Drivers: []driver.Factory{testdriver.Factory(ctl)}, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	for i := range 3 {
		ctl <- func(out driver.Sink, _ driver.Catalog) {
			out.Publish(model.Value{Device: "hub", Name: "ghost", Value: float64(i), Time: model.NowMs(), Quality: model.Good})
			out.SetState(model.DeviceState{Device: "nobody", Online: true}, 1, 0)
		}
	}
	testenv.Eventually(t, 10*time.Second, "3 unknown values counted", func() bool {
		return metric(t, gw, `gridbox_bus_unknown_total{what="value"}`) == 3
	})
	if n := metric(t, gw, `gridbox_bus_unknown_total{what="state"}`); n != 3 {
		t.Errorf("unknown states counted %v, want 3", n)
	}
	if n := strings.Count(logs.String(), "value for an unknown datapoint"); n != 1 || !strings.Contains(logs.String(), "datapoint=hub/ghost") {
		t.Errorf("logged %d times, want once naming hub/ghost:\n%s", n, logs.String())
	}
}

// TestActuatorWithoutWriterIsAStartError: a config that asks for writes
// from a driver without the Writer capability does not start; the error
// names the datapoint's file and line.
func TestActuatorWithoutWriterIsAStartError(t *testing.T) {
	src := `http: {auth: none}
devices:
  - id: hub
    driver: test
    datapoints:
      - {name: power}
      - {name: limit, kind: actuator}
`
	cfg, err := config.Parse([]byte(src), "g.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	opts := gateway.Options{Drivers: []driver.Factory{testdriver.Factory(nil)}}
	_, err = gateway.New(cfg, opts)
	want := "g.yaml:7: devices[0]: datapoint limit is an actuator, but this driver cannot write"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("New: %v; want %q", err, want)
	}
	if err := gateway.Check(cfg, opts); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Check: %v; want %q", err, want)
	}
}
