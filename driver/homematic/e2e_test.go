package homematic_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/driver/homematic/xmlrpc"
	"github.com/gridbox/gridbox/driver/internal/drivertest"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/sim"
)

// ccu is the Python CCU of testdata/ccu.py.
type ccu struct {
	*drivertest.Peer
	url string
}

func startCCU(t *testing.T) *ccu {
	p := drivertest.StartPeer(t, "python3", "testdata/ccu.py")
	port, ok := strings.CutPrefix(p.Line, "LISTENING ")
	if !ok {
		t.Fatalf("ccu.py said %q", p.Line)
	}
	return &ccu{Peer: p, url: "http://127.0.0.1:" + port}
}

// records returns the JSON lines the CCU printed with call == name.
func (c *ccu) records(name string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(c.Out.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["call"] == name {
			out = append(out, m)
		}
	}
	return out
}

func (c *ccu) control(t *testing.T, method string, params ...any) {
	t.Helper()
	if _, err := (&xmlrpc.Client{URL: c.url}).Call(context.Background(), method, params...); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
}

// TestGatewayAgainstPythonCCU: a gateway with the REST API runs the
// homematic driver against a CCU written with Python's xmlrpc modules (and a
// Modbus device beside it). Datapoints come from the device list, values
// from events (single and multicall), writes arrive as setValue with a
// double, writes outside MIN/MAX are refused before the CCU, malformed
// callbacks are counted and shown in $state while everything carries on,
// and a quiet event stream leads to a second init.
func TestGatewayAgainstPythonCCU(t *testing.T) {
	c := startCCU(t)
	room, err := sim.Start(context.Background(), "demo-room", "127.0.0.1:0", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { room.Close() })
	cb := testenv.FreeAddr(t)
	gw, stop := drivertest.Gateway(t, fmt.Sprintf(`http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q}
devices:
  - {id: ccu, driver: homematic, url: %q, callback: "http://%s", listen: %q, reinit_after: 2s, retry: 500ms, timeout: 5s, max_body: 65536}
  - {id: room, driver: modbus, url: "tcp://%s", profile: demo-room, interval: 200ms}
`, t.TempDir(), c.url, cb, cb, room.Addr()))

	const setT = "neq0123456_2_set_temperature"
	drivertest.Value(t, gw, "ccu", "neq0123456_2_actual_temperature", drivertest.Equals(21.5))
	drivertest.Value(t, gw, "ccu", "neq0000002_1_state", drivertest.Equals(2.0)) // from the multicall
	drivertest.Value(t, gw, "ccu", "neq0123456_1_humidity", drivertest.Equals(45.0))
	dp, _, _, _ := gw.Bus().Datapoint("ccu", setT)
	if dp.Kind != "actuator" || dp.Unit != "°C" || dp.Min == nil || *dp.Min != 4.5 || *dp.Max != 30.5 {
		t.Fatalf("%s = %+v", setT, dp)
	}

	// acceptance 2: a REST write arrives as setValue with address, key and a double
	if code, body := drivertest.Put(t, gw, "ccu", setT, `{"value": 22}`); code != 200 {
		t.Fatalf("write 22: %d %s", code, body)
	}
	testenv.Eventually(t, 10*time.Second, "setValue at the CCU", func() bool { return len(c.records("setValue")) == 1 })
	got := c.records("setValue")[0]
	if got["address"] != "NEQ0123456:2" || got["key"] != "SET_TEMPERATURE" || got["value"] != 22.0 || got["type"] != "float" {
		t.Fatalf("setValue = %v", got)
	}
	drivertest.Value(t, gw, "ccu", setT, drivertest.Equals(22.0))
	if code, body := drivertest.Put(t, gw, "ccu", setT, `{"value": 35}`); code != 422 || !strings.Contains(body, "above max") {
		t.Fatalf("write 35: %d %s", code, body)
	}
	// the same over MQTT (embedded broker, mosquitto_pub): 40 is refused, 23.5 arrives
	_, port, _ := strings.Cut(gw.MQTTAddr(), ":")
	pub := testenv.Tool(t, "mosquitto_pub")
	for _, v := range []string{"40", "23.5"} {
		if out, err := exec.Command(pub, "-h", "127.0.0.1", "-p", port, "-t", "gridbox/ccu/"+setT+"/set", "-m", v).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub: %v %s", err, out)
		}
	}
	testenv.Eventually(t, 10*time.Second, "MQTT setValue at the CCU", func() bool { return len(c.records("setValue")) == 2 })
	if got := c.records("setValue")[1]; got["value"] != 23.5 || got["type"] != "float" || got["address"] != "NEQ0123456:2" {
		t.Fatalf("setValue over MQTT = %v", got)
	}

	// acceptance 3: malformed callbacks are counted; everything carries on
	for _, kind := range []string{"xml", "type", "value", "oversized"} {
		c.control(t, "test.bad", kind)
	}
	for _, kind := range []string{"xml", "type", "oversized"} {
		series := fmt.Sprintf(`gridbox_driver_malformed_total{device="ccu",driver="homematic",kind=%q}`, kind)
		testenv.Eventually(t, 10*time.Second, series, func() bool { return drivertest.Metric(t, gw, series) >= 1 })
	}
	st := drivertest.State(t, gw, "ccu")
	if st["online"] != true || st["errors"].(float64) < 4 || !strings.Contains(fmt.Sprint(st["error"]), "malformed") {
		t.Fatalf("$state of ccu = %v", st)
	}
	c.control(t, "test.push", "NEQ0123456:2", "ACTUAL_TEMPERATURE", 23.25)
	drivertest.Value(t, gw, "ccu", "neq0123456_2_actual_temperature", drivertest.Equals(23.25))
	if code, body := drivertest.Put(t, gw, "room", "setpoint", `{"value": 24}`); code != 200 {
		t.Fatalf("room write beside the CCU: %d %s", code, body)
	}
	if len(c.records("setValue")) != 2 {
		t.Fatalf("the CCU got %v", c.records("setValue"))
	}

	// no event for reinit_after: init again; at stop: unregister
	testenv.Eventually(t, 20*time.Second, "a second init", func() bool { return len(c.records("init")) >= 2 })
	stop()
	testenv.Eventually(t, 10*time.Second, "unregister", func() bool {
		inits := c.records("init")
		return inits[len(inits)-1]["iface"] == ""
	})
}

// TestGatewayAgainstSimulator: the driver reads the CCU simulator of
// `gridbox sim homematic-ccu` and writes a radiator setpoint.
func TestGatewayAgainstSimulator(t *testing.T) {
	c, err := sim.StartCCU(context.Background(), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cb := testenv.FreeAddr(t)
	gw, _ := drivertest.Gateway(t, fmt.Sprintf(`http: {listen: "127.0.0.1:0", auth: none}
mqtt: []
store: {path: %q}
devices:
  - {id: ccu, driver: homematic, url: %q, callback: "http://%s", listen: %q}
`, t.TempDir(), c.URL(), cb, cb))
	drivertest.Value(t, gw, "ccu", "neq0000003_4_valve_state", func(v any) bool { return v != nil })
	if code, body := drivertest.Put(t, gw, "ccu", "neq0000003_4_set_temperature", `{"value": 23.5}`); code != 200 {
		t.Fatalf("write: %d %s", code, body)
	}
	drivertest.Value(t, gw, "ccu", "neq0000003_4_set_temperature", drivertest.Equals(23.5))
}
