package victron_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/driver/internal/drivertest"
	"github.com/gridbox/gridbox/internal/testenv"
)

// TestGatewayE2E: a whole gateway from YAML with `driver: victron` against
// the scripted GX: run-time devices in the REST API, a REST write within
// limits goes out as W, one beyond them is refused, malformed messages show
// in /metrics.
func TestGatewayE2E(t *testing.T) {
	g := startGX(t)
	gw, _ := drivertest.Gateway(t, fmt.Sprintf(`
site: e2e
http: {listen: "127.0.0.1:0", auth: none}
mqtt: []
store: {path: %q}
devices:
  - id: gx
    driver: victron
    broker: mqtt://%s
    portal_id: %s
    keepalive: 2s
    actuators:
      - {path: hub4/0/AcPowerSetpoint, name: ess_setpoint, unit: W, min: -5000, max: 5000}
`, t.TempDir(), g.addr, portal))
	drivertest.Value(t, gw, "gx-grid-30", "ac_power", drivertest.Equals(1234.0))
	if st := drivertest.State(t, gw, "gx-battery-512"); st == nil || st["online"] != true {
		t.Errorf("run-time device in the REST API: %v", st)
	}
	if code, body := drivertest.Put(t, gw, "gx", "ess_setpoint", `{"value": 6000}`); code < 400 {
		t.Errorf("write beyond max: %d %s", code, body)
	}
	if code, body := drivertest.Put(t, gw, "gx", "ess_setpoint", `{"value": 250}`); code != 200 {
		t.Fatalf("write: %d %s", code, body)
	}
	drivertest.Value(t, gw, "gx-hub4-0", "acpowersetpoint", drivertest.Equals(250.0))
	var writes []string
	for _, r := range g.requests() {
		if strings.HasPrefix(r, "W ") {
			writes = append(writes, r)
		}
	}
	if len(writes) != 1 || writes[0] != `W hub4/0/AcPowerSetpoint {"value":250}` {
		t.Errorf("writes the GX got: %q", writes)
	}
	g.pub(t, "grid/30/Ac/Power", `not json`)
	testenv.Eventually(t, 20*time.Second, "the malformed message in /metrics", func() bool {
		return drivertest.Metric(t, gw, `gridbox_driver_malformed_total{device="gx",driver="victron",kind="payload"}`) == 1
	})
}
