package mqttsrc_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/driver/internal/drivertest"
	"github.com/gridbox/gridbox/internal/testenv"
)

const mosquitto = "127.0.0.1:1883"

// pub publishes one message with mosquitto_pub.
func pub(t *testing.T, topic, payload string) {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, "mosquitto_pub"), "-h", "127.0.0.1", "-p", "1883", "-t", topic, "-m", payload).CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub %s: %v %s", topic, err, out)
	}
}

// TestGatewayAgainstMosquitto: the MQTT source reads plain and JSON
// payloads from Mosquitto (fed by mosquitto_pub), names wildcard matches
// from their levels, flattens objects, publishes writes to the write_topic
// (seen by mosquitto_sub), and counts malformed messages in $state and
// metrics while carrying on.
func TestGatewayAgainstMosquitto(t *testing.T) {
	testenv.Service(t, "mosquitto", mosquitto)
	sub := testenv.Tool(t, "mosquitto_sub")
	p := fmt.Sprintf("gbtest/%d", time.Now().UnixNano())
	gw, _ := drivertest.Gateway(t, fmt.Sprintf(`http: {listen: "127.0.0.1:0", auth: none}
mqtt: []
store: {path: %q}
devices:
  - id: remote
    driver: mqtt
    broker: mqtt://%s
    max_payload: 1024
    datapoints:
      - {name: temp, topic: %[3]s/room/temp, unit: °C}
      - {name: meter, topic: "%[3]s/meters/+/power", unit: W, role: grid_power}
      - {topic: "%[3]s/sensors/#"}
      - {name: cfos, topic: %[3]s/cfos, path: power_w, unit: W}
      - {name: dev, topic: %[3]s/dev}
      - {name: limit, topic: %[3]s/limit/state, path: max_total_cur_prc, kind: actuator, write_topic: %[3]s/limit/set, min: 0, max: 100, unit: "%%"}
  - {id: meter, driver: mqtt, broker: "mqtt://%[2]s", profile: cfos-mqtt-meter, topic: %[3]s/meter}
`, t.TempDir(), mosquitto, p))
	testenv.Eventually(t, 20*time.Second, "source online", func() bool { return drivertest.State(t, gw, "remote")["online"] == true })

	pub(t, p+"/room/temp", "21.5")
	pub(t, p+"/meters/Main-1/power", "-1200")
	pub(t, p+"/sensors/hall/Lux", `"340"`)
	pub(t, p+"/sensors/door", "open")
	pub(t, p+"/cfos", `{"power_w": 1234, "other": 1}`)
	pub(t, p+"/dev", `{"model": "TestModell", "import_wh": 12345, "voltage": [231, 232], "ok": true}`)
	pub(t, p+"/limit/state", `{"max_total_cur_prc": 70}`)
	testenv.Eventually(t, 20*time.Second, "meter online", func() bool { return drivertest.State(t, gw, "meter")["online"] == true })
	pub(t, p+"/meter", `{"power_w": 1234, "import_wh": 12345, "export_wh": 23456, "voltage": [231, 232, 233], "current": [10001, 10002, 10003]}`)
	eq := drivertest.Equals
	drivertest.Value(t, gw, "meter", "current_l1", eq(10.001))
	drivertest.Value(t, gw, "meter", "voltage_l3", eq(233.0))
	drivertest.Value(t, gw, "meter", "energy_export", eq(23456.0))
	drivertest.Value(t, gw, "remote", "temp", eq(21.5))
	drivertest.Value(t, gw, "remote", "meter_main-1", eq(-1200.0))
	drivertest.Value(t, gw, "remote", "hall_lux", eq(340.0))
	drivertest.Value(t, gw, "remote", "door", eq("open"))
	drivertest.Value(t, gw, "remote", "cfos", eq(1234.0))
	drivertest.Value(t, gw, "remote", "dev__model", eq("TestModell"))
	drivertest.Value(t, gw, "remote", "dev__voltage__1", eq(232.0))
	drivertest.Value(t, gw, "remote", "dev__ok", eq(true))
	drivertest.Value(t, gw, "remote", "limit", eq(70.0))
	if dp, _, _, _ := gw.Bus().Datapoint("remote", "meter_main-1"); dp.Role != "grid_power" || dp.Unit != "W" || dp.Kind != "sensor" {
		t.Errorf("meter_main-1 = %+v", dp)
	}

	// a write is published to the write_topic, along the path
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	watch := exec.CommandContext(ctx, sub, "-h", "127.0.0.1", "-p", "1883", "-t", p+"/limit/set", "-C", "1", "-W", "20")
	out := &testenv.Buffer{}
	watch.Stdout = out
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	written := make(chan error, 1)
	go func() { written <- watch.Wait() }()
	// mosquitto_sub subscribes quickly but without a signal: write until it sees one
	testenv.Eventually(t, 20*time.Second, "the write at mosquitto_sub", func() bool {
		if code, body := drivertest.Put(t, gw, "remote", "limit", `{"value": 80}`); code != 200 {
			t.Fatalf("write: %d %s", code, body)
		}
		select {
		case <-written:
			return true
		case <-time.After(200 * time.Millisecond):
			return false
		}
	})
	if got := strings.TrimSpace(out.String()); got != `{"max_total_cur_prc":80}` {
		t.Fatalf("write published %q", got)
	}
	if code, _ := drivertest.Put(t, gw, "remote", "limit", `{"value": 120}`); code != 422 {
		t.Fatalf("write 120: %d", code)
	}

	// malformed messages are counted and shown; the source carries on
	pub(t, p+"/cfos", `{"power_w": 12`)
	pub(t, p+"/room/temp", "warm")
	pub(t, p+"/dev", strings.Repeat("x", 2000))
	for _, kind := range []string{"json", "type", "oversized"} {
		series := fmt.Sprintf(`gridbox_driver_malformed_total{device="remote",driver="mqtt",kind=%q}`, kind)
		testenv.Eventually(t, 10*time.Second, series, func() bool { return drivertest.Metric(t, gw, series) >= 1 })
	}
	if st := drivertest.State(t, gw, "remote"); st["online"] != true || !strings.Contains(fmt.Sprint(st["error"]), "malformed") {
		t.Errorf("$state = %v", st)
	}
	pub(t, p+"/room/temp", "22")
	drivertest.Value(t, gw, "remote", "temp", eq(22.0))
}
