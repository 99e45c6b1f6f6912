package gateway_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/gateway"
	"github.com/x448/float16"
)

// TestComputedEndToEnd: computed datapoints over the demo-room simulator
// (one reference in the short form, one through dp() for a device id with
// a dash) follow a setpoint that mbpoll writes behind the gateway's back,
// carry unit and role in the catalog, and turn stale when the simulator
// goes away.
func TestComputedEndToEnd(t *testing.T) {
	mbpoll := requireTool(t, "mbpoll")
	room := startSim(t, "demo-room", "")
	host, port := splitAddr(t, room.Addr())
	gw, stop := startConfig(t, fmt.Sprintf(`site: test
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q, flush_interval: 100ms}
computed:
  - {name: home/double, expr: "room/setpoint * 2", unit: °C, role: setpoint_double}
  - {name: home/sum, expr: 'dp("room-2/setpoint") + home/double', unit: °C}
devices:
  - {id: room, driver: modbus, url: "tcp://%[2]s", profile: demo-room, interval: 200ms, timeout: 300ms, retries: 0}
  - {id: room-2, driver: modbus, url: "tcp://%[2]s", profile: demo-room, interval: 200ms, timeout: 300ms, retries: 0}
`, t.TempDir(), room.Addr()), gateway.Options{})
	defer stop()
	type dp struct {
		Unit, Role string
		Value      *struct {
			Value   any
			Quality string
		}
	}
	get := func(name string) dp {
		var p dp
		getJSON(t, "http://"+gw.HTTPAddr()+"/api/v1/datapoints/home/"+name, &p)
		return p
	}
	wait := func(name string, v float64, q string) {
		t.Helper()
		waitFor(t, 15*time.Second, fmt.Sprintf("home/%s = %g %s", name, v, q), func() bool {
			p := get(name)
			return p.Value != nil && p.Value.Value == v && p.Value.Quality == q
		})
	}
	wait("double", 48, "good") // the start setpoint 24
	wait("sum", 72, "good")
	if p := get("double"); p.Unit != "°C" || p.Role != "setpoint_double" {
		t.Errorf("home/double metadata %+v", p)
	}
	b := float16.Fromfloat32(20).Bits()
	out, err := exec.Command(mbpoll, "-m", "tcp", "-a", "1", "-r", "2", "-t", "4:hex", "-1", "-p", port, host, fmt.Sprintf("0x%04X", b>>8|b<<8)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Written 1 references") {
		t.Fatalf("mbpoll write: %v\n%s", err, out)
	}
	wait("double", 40, "good")
	wait("sum", 60, "good")
	room.Close()
	wait("double", 40, "stale")
	wait("sum", 60, "stale")
}

// TestComputedConfigErrors: an expression error is a config error with
// file, line, key path and the position inside the expression.
func TestComputedConfigErrors(t *testing.T) {
	for _, c := range []struct{ src, msg string }{
		{"computed:\n  - {name: home/a, expr: \"x/a + 1\"}\n  - {name: home/b, expr: \"x/a + * 2\"}\n",
			`g.yaml:4: computed[1].expr: line 1, column 7: unexpected token Operator("*")`},
		{"computed:\n  - {name: home/a, expr: \"cp-001/power\"}\n",
			`g.yaml:3: computed[0].expr: line 1, column 1: unknown name cp (a reference is device/name; one with - in it is written dp("device/name"))`},
		{"computed:\n  - {name: home/a, expr: \"x/a\", unti: W}\n", `g.yaml:3: computed[0].unti: unknown key`},
	} {
		got := checkErrs(t, "http: {auth: none}\n"+c.src, nil)
		if !strings.Contains(got, c.msg) {
			t.Errorf("got %q, want %q", got, c.msg)
		}
	}
}
