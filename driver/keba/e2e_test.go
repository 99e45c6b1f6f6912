package keba_test

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/driver/internal/drivertest"
	"github.com/gridbox/gridbox/internal/testenv"
)

// freeUDP returns a loopback UDP address nothing is bound to.
func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// wallbox is testdata/keba.py, answering to replyPort.
type wallbox struct {
	*drivertest.Peer
	addr string
}

func startWallbox(t *testing.T, replyPort, serial string) *wallbox {
	p := drivertest.StartPeer(t, "python3", "testdata/keba.py", replyPort, serial)
	port, ok := strings.CutPrefix(p.Line, "LISTENING ")
	if !ok {
		t.Fatalf("keba.py said %q", p.Line)
	}
	return &wallbox{Peer: p, addr: "127.0.0.1:" + port}
}

func (w *wallbox) commands() []string {
	var out []string
	for _, line := range strings.Split(w.Out.String(), "\n") {
		var m map[string]string
		if json.Unmarshal([]byte(line), &m) == nil && m["cmd"] != "" {
			out = append(out, m["cmd"])
		}
	}
	return out
}

// control sends "test <mode>" to the wallbox.
func (w *wallbox) control(t *testing.T, mode string) {
	t.Helper()
	c, err := net.Dial("udp", w.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("test " + mode)); err != nil {
		t.Fatal(err)
	}
}

// TestGatewayAgainstPythonWallboxes: two stations (Python UDP peers) share
// one local port; reports are read (unsolicited and wrong-ID datagrams
// skipped), writes go out as the station's commands, malformed answers are
// counted in $state and metrics, and a silent station goes offline while the
// other carries on.
func TestGatewayAgainstPythonWallboxes(t *testing.T) {
	listen := freeUDP(t)
	_, replyPort, _ := net.SplitHostPort(listen)
	a := startWallbox(t, replyPort, "111")
	b := startWallbox(t, replyPort, "222")
	gw, _ := drivertest.Gateway(t, fmt.Sprintf(`http: {listen: "127.0.0.1:0", auth: none}
mqtt: []
store: {path: %q}
devices:
  - {id: wb1, driver: keba, url: "udp://%s", listen: %q, interval: 300ms, timeout: 300ms}
  - {id: wb2, driver: keba, url: "udp://%s", listen: %q, interval: 300ms, timeout: 300ms}
`, t.TempDir(), a.addr, listen, b.addr, listen))

	drivertest.Value(t, gw, "wb1", "serial", drivertest.Equals("111"))
	drivertest.Value(t, gw, "wb2", "serial", drivertest.Equals("222"))
	drivertest.Value(t, gw, "wb1", "power", drivertest.Equals(11040.0))
	drivertest.Value(t, gw, "wb1", "state", drivertest.Equals(3.0))
	drivertest.Value(t, gw, "wb1", "max_current", drivertest.Equals(16.0))
	drivertest.Value(t, gw, "wb1", "energy_total", drivertest.Equals(12345678.9))
	if dp, _, _, _ := gw.Bus().Datapoint("wb1", "power"); dp.Role != "ev_power" {
		t.Errorf("power role %q", dp.Role)
	}

	for _, w := range []struct{ name, body, cmd string }{
		{"enabled", `{"value": false}`, "ena 0"},
		{"max_current", `{"value": 10.5}`, "curr 10500"},
		{"energy_limit", `{"value": 5000}`, "setenergy 50000"},
		{"display", `{"value": "hi there"}`, "display 0 0 0 0 hi$there"},
	} {
		if code, body := drivertest.Put(t, gw, "wb1", w.name, w.body); code != 200 {
			t.Fatalf("write %s: %d %s", w.name, code, body)
		}
		testenv.Eventually(t, 10*time.Second, w.cmd, func() bool {
			cmds := a.commands()
			return len(cmds) > 0 && cmds[len(cmds)-1] == w.cmd
		})
	}
	drivertest.Value(t, gw, "wb1", "max_current", drivertest.Equals(10.5))
	drivertest.Value(t, gw, "wb1", "enabled", drivertest.Equals(false))
	if code, _ := drivertest.Put(t, gw, "wb1", "max_current", `{"value": 80}`); code != 422 {
		t.Fatalf("write 80 A: %d", code)
	}
	if len(b.commands()) != 0 {
		t.Fatalf("wb2 got %v", b.commands())
	}

	for _, kind := range []string{"json", "type", "oversized"} {
		a.control(t, kind)
		series := fmt.Sprintf(`gridbox_driver_malformed_total{device="wb1",driver="keba",kind=%q}`, kind)
		testenv.Eventually(t, 10*time.Second, series, func() bool { return drivertest.Metric(t, gw, series) >= 1 })
	}
	if st := drivertest.State(t, gw, "wb1"); !strings.Contains(fmt.Sprint(st["error"]), "malformed") {
		t.Errorf("$state of wb1 = %v", st)
	}
	a.control(t, "silent")
	testenv.Eventually(t, 20*time.Second, "wb1 offline", func() bool { return drivertest.State(t, gw, "wb1")["online"] == false })
	if st := drivertest.State(t, gw, "wb2"); st["online"] != true {
		t.Fatalf("wb2 = %v", st)
	}
	a.control(t, "normal")
	testenv.Eventually(t, 20*time.Second, "wb1 back", func() bool { return drivertest.State(t, gw, "wb1")["online"] == true })
}
