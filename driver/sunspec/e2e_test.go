package sunspec_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/profile"
)

// pythonWithPymodbus returns a python3 that imports pymodbus (skip or fail without one).
func pythonWithPymodbus(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import pymodbus").Run() == nil {
			return path
		}
	}
	testenv.Missing(t, "python3 with pymodbus (Debian python3-pymodbus)")
	return ""
}

// startPymodbus serves im (unit 1) with pymodbus on a free port until the test ends.
func startPymodbus(t *testing.T, im map[int]uint16) string {
	t.Helper()
	py := pythonWithPymodbus(t)
	regs := map[string][]uint16{}
	for a, v := range im {
		regs[fmt.Sprint(a)] = []uint16{v}
	}
	data, _ := json.Marshal(map[string]any{"unit": 1, "registers": regs})
	file := filepath.Join(t.TempDir(), "image.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	var out testenv.Buffer
	cmd := exec.Command(py, filepath.Join("testdata", "sunspec_server.py"), file, host, port)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("pymodbus output:\n%s", out.String())
		}
	})
	testenv.Eventually(t, 20*time.Second, "pymodbus listening on "+addr, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

// TestIndependentDeviceReachesAPIAndMQTT: a SunSpec device laid out from the
// official model definitions and served by pymodbus (marker at 50000) is
// discovered; its values arrive with their scale factors, null for
// not-implemented points and the roles pv_power and grid_power, on the
// REST API and on MQTT.
func TestIndependentDeviceReachesAPIAndMQTT(t *testing.T) {
	dir := modelsDir()
	if dir == "" {
		testenv.Missing(t, "the official SunSpec models (shared/data/sunspec-models beside the repository, or $GRIDBOX_SUNSPEC_MODELS)")
	}
	im := officialImage(t, dir, 50000, []officialModel{
		{1, map[string]any{"Mn": "Acme", "Md": "PV-9000", "SN": "A123456", "DA": 1}},
		{103, map[string]any{"W": 1234, "W_SF": 1, "PhVphA": 2317, "V_SF": -1, "Hz": 4998, "Hz_SF": -2,
			"WH": 987654, "WH_SF": 0, "A": 5012, "A_SF": -3, "St": 4}},
		{120, map[string]any{"DERTyp": 4, "WRtg": 9000, "WRtg_SF": 0}},
		{1, map[string]any{"Mn": "Acme", "Md": "M-3", "SN": "M999"}},
		{203, map[string]any{"W": 875, "W_SF": -1, "TotWhImp": 0, "TotWhExp": 4321, "TotWh_SF": 1, "PhVphA": 2299, "V_SF": -1}},
	})
	addr := startPymodbus(t, im)
	gw := startGateway(t, fmt.Sprintf(`site: test
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q, flush_interval: 100ms}
devices:
  - {id: pv, driver: sunspec, url: "tcp://%s", interval: 300ms, timeout: 1s}
`, t.TempDir(), addr))
	w := subscribe(t, "tcp://"+gw.MQTTAddr(), "gridbox/#")

	api := "http://" + gw.HTTPAddr() + "/api/v1/datapoints"
	want := map[string]any{
		"pv/ac_power": 12340.0, "pv/voltage_l1": 231.7, "pv/frequency": 49.98, "pv/current": 5.012,
		"pv/energy_total": 987654.0, "pv/serial_number": "A123456", "pv/manufacturer": "Acme", "pv/model": "PV-9000",
		"pv/reactive_power": nil, "pv/temperature": nil, "pv/voltage_l1_l2": nil,
		"pv_2/ac_power": 87.5, "pv_2/energy_import": nil, "pv_2/energy_export": 43210.0, "pv_2/serial_number": "M999",
		"pv_2/voltage_l1": 229.9, "pv_2/frequency": nil,
	}
	var got map[string]any
	testenv.Eventually(t, 20*time.Second, "every value on the API", func() bool {
		got = apiValues(t, api)
		for k := range want {
			if _, ok := got[k]; !ok {
				return false
			}
		}
		return true
	})
	for k, v := range want {
		if got[k] != v {
			t.Errorf("API %s = %v, want %v", k, got[k], v)
		}
	}
	for role, key := range map[string]string{"pv_power": "pv/ac_power", "grid_power": "pv_2/ac_power"} {
		byRole := apiValues(t, api+"?role="+role)
		if len(byRole) != 1 || byRole[key] != want[key] {
			t.Errorf("?role=%s: %v, want only %s = %v", role, byRole, key, want[key])
		}
	}
	for topic, val := range map[string]string{
		"gridbox/pv/ac_power": `"value":12340`, "gridbox/pv_2/ac_power": `"value":87.5`,
		"gridbox/pv/reactive_power": `"value":null`, "gridbox/$meta/pv/ac_power": `"role":"pv_power"`,
		"gridbox/$meta/pv_2/ac_power": `"role":"grid_power"`,
	} {
		testenv.Eventually(t, 20*time.Second, topic+" "+val, func() bool { return strings.Contains(w.get(topic), val) })
	}
	metrics := "http://" + gw.HTTPAddr() + "/metrics"
	if n := testenv.Metric(t, metrics, `gridbox_sunspec_discoveries_total{device="pv"}`); n < 1 {
		t.Errorf("discoveries_total = %v", n)
	}
	if n := testenv.Metric(t, metrics, `gridbox_sunspec_requests_total{device="pv"}`); n < 5 {
		t.Errorf("requests_total = %v", n)
	}
}

// startGateway runs a gateway from YAML until the test ends.
func startGateway(t *testing.T, src string) *gateway.Gateway {
	t.Helper()
	cfg, err := config.Parse([]byte(src), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	gw, err := gateway.New(cfg, gateway.Options{Version: "test", Profiles: profile.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := gw.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := gw.Wait(); err != nil {
			t.Errorf("gateway: %v", err)
		}
	})
	return gw
}

// apiValues returns device/name → last value of a datapoint list.
func apiValues(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pts []struct {
		Device, Name string
		Value        *struct{ Value any } `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&pts); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	out := map[string]any{}
	for _, p := range pts {
		if p.Value != nil {
			out[p.Device+"/"+p.Name] = p.Value.Value
		}
	}
	return out
}

// mqttWatch remembers the last payload per topic.
type mqttWatch struct {
	mu   sync.Mutex
	last map[string]string
}

func (w *mqttWatch) get(topic string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last[topic]
}

func subscribe(t *testing.T, broker, filter string) *mqttWatch {
	t.Helper()
	w := &mqttWatch{last: map[string]string{}}
	opts := paho.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("sunspec-test-%d", time.Now().UnixNano()))
	opts.SetOnConnectHandler(func(c paho.Client) {
		c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
			w.mu.Lock()
			w.last[m.Topic()] = string(m.Payload())
			w.mu.Unlock()
		})
	})
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect %s: %v", broker, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return w
}

// TestFroniusLimitOverREST: the documented Fronius GEN24 configuration
// against the GEN24-layout simulator: a REST write of 50 % reaches
// 40242 = 5000 and 40246 = 1 (mbpoll reads them), a write above 100 % is
// refused by the limits and never reaches the device, and the meter is a
// device of its own.
func TestFroniusLimitOverREST(t *testing.T) {
	s := startSim(t, "sunspec-float")
	gw := startGateway(t, fmt.Sprintf(`site: test
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q, flush_interval: 100ms}
devices:
  - {id: fronius, driver: sunspec, url: "tcp://%s", base: 40000, interval: 300ms, write_gap: 0s}
`, t.TempDir(), s.Addr()))
	base := "http://" + gw.HTTPAddr() + "/api/v1/datapoints/"
	testenv.Eventually(t, 20*time.Second, "fronius/w_max_lim_pct and the meter", func() bool {
		v := apiValues(t, base[:len(base)-1])
		return v["fronius/w_max_lim_pct"] == 100.0 && v["fronius_2/ac_power"] == 1234.5
	})
	put := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, base+"fronius/w_max_lim_pct/value", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	if code, body := put(`{"value": 50}`); code != http.StatusOK || !strings.Contains(body, "50") {
		t.Fatalf("PUT 50: %d %s", code, body)
	}
	if regs := mbpollRegs(t, s.Addr(), 40242, 5); regs[0] != 5000 || regs[4] != 1 {
		t.Fatalf("40242..40246 = %v, want 5000 … 1", regs)
	}
	if code, body := put(`{"value": 120}`); code == http.StatusOK || !strings.Contains(body, "above max 100") {
		t.Fatalf("PUT 120: %d %s", code, body)
	}
	if regs := mbpollRegs(t, s.Addr(), 40242, 1); regs[0] != 5000 {
		t.Fatalf("after the refused write 40242 = %v", regs)
	}
}
