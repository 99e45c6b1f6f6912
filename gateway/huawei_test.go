package gateway_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/gateway"
)

// TestHuaweiDetectsMeterAndBattery: the huawei-sun2000 simulator with and
// without meter and battery, polled by the real Modbus driver through the
// gateway: the REST API lists the meter's and battery's datapoints only
// when they are attached, with gridbox's signs (grid power import
// positive: the simulated meter exports, so negative; battery charging
// positive; PV production positive).
func TestHuaweiDetectsMeterAndBattery(t *testing.T) {
	inverter := []string{"ac_power", "dc_power", "energy_total", "rated_power"}
	meter := []string{"meter_current_l1", "meter_current_l2", "meter_current_l3", "meter_energy_export",
		"meter_energy_import", "meter_power", "meter_voltage_l1", "meter_voltage_l2", "meter_voltage_l3"}
	battery := []string{"battery_capacity", "battery_energy_charged", "battery_energy_discharged", "battery_power", "battery_soc"}
	for _, c := range []struct {
		variant        string
		meter, battery bool
	}{
		{"huawei-sun2000", true, true},
		{"huawei-sun2000:pv", false, false},
		{"huawei-sun2000:meter", true, false},
		{"huawei-sun2000:battery", false, true},
		// Strict: requests within 0.5 s of the connect are ignored; the
		// profile's connect_delay (1 s) keeps the driver from sending them.
		{"huawei-sun2000:meter,strict", true, false},
	} {
		t.Run(c.variant, func(t *testing.T) {
			want := slices.Clone(inverter)
			if c.meter {
				want = append(want, meter...)
			}
			if c.battery {
				want = append(want, battery...)
			}
			sort.Strings(want)
			s := startSim(t, c.variant, "")
			gw := startHuawei(t, s.Addr(), !strings.HasSuffix(c.variant, "strict"))
			api := "http://" + gw.HTTPAddr() + "/api/v1"
			var got map[string]any
			waitFor(t, 20*time.Second, fmt.Sprintf("values of %v", want), func() bool {
				got = huaweiValues(t, api)
				return len(got) == len(want) && allSet(got)
			})
			// A few more polls: nothing else appears.
			polls := devicePolls(t, api)
			waitFor(t, 20*time.Second, "three more polls", func() bool { return devicePolls(t, api) >= polls+3 })
			got = huaweiValues(t, api)
			names := make([]string, 0, len(got))
			for n := range got {
				names = append(names, n)
			}
			sort.Strings(names)
			if !slices.Equal(names, want) {
				t.Fatalf("datapoints %v, want %v", names, want)
			}
			checkSign(t, got, "ac_power", 5000)
			if c.meter {
				checkSign(t, got, "meter_power", -1500) // exporting: negative in gridbox
				checkSign(t, got, "meter_voltage_l1", 230.1)
			}
			if c.battery {
				checkSign(t, got, "battery_power", 2000) // charging: positive
				checkSign(t, got, "battery_soc", 55.3)
			}
			if c.meter {
				var roles []map[string]any
				getJSON(t, api+"/datapoints?role=grid_power", &roles)
				if len(roles) != 1 || roles[0]["name"] != "meter_power" {
					t.Errorf("role grid_power: %v", roles)
				}
			}
		})
	}
}

// startHuawei runs a gateway with one huawei-sun2000 device at addr. The
// profile's quirks apply (timeout 5 s, pause 50 ms, connect_delay 1 s);
// quick shortens the connect delay to keep the test quick.
func startHuawei(t *testing.T, addr string, quick bool) *gateway.Gateway {
	delay := ""
	if quick {
		delay = ", connect_delay: 100ms"
	}
	src := fmt.Sprintf(`site: test
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q, flush_interval: 100ms}
devices:
  - {id: inv, driver: modbus, url: "tcp://%s", profile: huawei-sun2000, interval: 300ms, retries: 0%s}
`, t.TempDir(), addr, delay)
	gw, _ := startConfig(t, src, gateway.Options{})
	return gw
}

// huaweiValues returns the inverter's datapoints listed by the API with
// their last values (nil before the first).
func huaweiValues(t *testing.T, api string) map[string]any {
	var pts []map[string]any
	if code := getJSON(t, api+"/datapoints?device=inv", &pts); code != 200 {
		t.Fatalf("datapoints: %d", code)
	}
	out := map[string]any{}
	for _, p := range pts {
		var v any
		if m, ok := p["value"].(map[string]any); ok && m["quality"] == "good" {
			v = m["value"]
		}
		out[fmt.Sprint(p["name"])] = v
	}
	return out
}

func allSet(m map[string]any) bool {
	for _, v := range m {
		if v == nil {
			return false
		}
	}
	return true
}

func devicePolls(t *testing.T, api string) float64 {
	var devs []map[string]any
	getJSON(t, api+"/devices", &devs)
	for _, d := range devs {
		if d["id"] == "inv" {
			p, _ := d["polls"].(float64)
			return p
		}
	}
	return 0
}

// checkSign checks a value's sign and size (within 1 %).
func checkSign(t *testing.T, got map[string]any, name string, want float64) {
	t.Helper()
	v, ok := got[name].(float64)
	if !ok || (v < 0) != (want < 0) || v < want-0.01*abs(want) || v > want+0.01*abs(want) {
		t.Errorf("%s = %v, want %v", name, got[name], want)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
