package httpdrv

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
)

// TestFroniusRecordedAnswers reads recorded Fronius answers from Python's
// http.server: signs as the profile documents them, null and absent fields
// as null.
func TestFroniusRecordedAnswers(t *testing.T) {
	base := startPeer(t)
	day := pollOnce(t, newTestDevice(t, fmt.Sprintf("{id: pv, driver: http, timeout: 10s, url: %q, profile: fronius-solar-api}", base), nil))
	wantValues(t, day, map[string]any{
		"pv_power": 2591.2, "grid_power": -1041.7, "load_power": -2369.8,
		"battery_power": -820.3, // P_Akku 820.3 is discharging: negative in gridbox
		"battery_soc":   72.4, "energy_total": 12345678.0,
	})
	if st, polls, errs := day.snapshot(); !st.Online || st.Error != "" || polls != 1 || errs != 0 {
		t.Errorf("day: state %+v polls %d errs %d", st, polls, errs)
	}
	night := pollOnce(t, newTestDevice(t, fmt.Sprintf("{id: pv, driver: http, timeout: 10s, url: %q, profile: fronius-solar-api}", base+"/night"), nil))
	wantValues(t, night, map[string]any{"pv_power": nil, "battery_power": nil, "battery_soc": nil, "grid_power": 412.3})
	if v, _ := night.value("pv_power"); v.Quality != model.Good {
		t.Errorf("null pv_power has quality %s, want good (the inverter says: none)", v.Quality)
	}
	if st, _, errs := night.snapshot(); !st.Online || errs != 0 {
		t.Errorf("night: state %+v errs %d", st, errs)
	}
}

// TestMalformedAnswersCounted: each kind of bad answer is counted by kind,
// shows in the state and leaves the device polling.
func TestMalformedAnswersCounted(t *testing.T) {
	base := startPeer(t)
	tests := []struct {
		name, device, kind, inState string
		online                      bool
	}{
		{"truncated json", fmt.Sprintf("{id: d, driver: http, timeout: 10s, url: %q, profile: fronius-solar-api}", base+"/truncated"), "malformed", "malformed document: json", false},
		{"garbage as json", fmt.Sprintf("{id: d, driver: http, timeout: 10s, url: %q, format: json, datapoints: [{name: a, path: a}]}", base+"/raw/garbage.bin"), "malformed", "malformed document: json", false},
		{"truncated xml", fmt.Sprintf("{id: d, driver: http, timeout: 10s, url: %q, format: xml, datapoints: [{name: a, path: a/b}]}", base+"/raw/truncated.xml"), "malformed", "malformed document: xml", false},
		{"http 500", fmt.Sprintf("{id: d, driver: http, timeout: 10s, url: %q, format: json, datapoints: [{name: a, path: a}]}", base+"/status/500"), "status", "HTTP 500", false},
		{"oversized", fmt.Sprintf("{id: d, driver: http, timeout: 10s, url: %q, max_body: 1000, format: json, datapoints: [{name: a, path: a}]}", base+"/big/5000000"), "oversized", "larger than max_body 1000", false},
		{"wrong types", fmt.Sprintf("{id: d, driver: http, timeout: 10s, url: %q, profile: fronius-solar-api}", base+"/wrongtype"), "type", "pv_power (Body.Data.Site.P_PV): want a number, got object", true},
		{"no path matches", fmt.Sprintf("{id: d, driver: http, timeout: 10s, url: %q, format: json, datapoints: [{name: a, path: Body.Data.Site.PV}]}", base+"/solar_api/v1/GetPowerFlowRealtimeData.fcgi"), "missing", "none of the 1 datapoint paths is in the answer", true},
		{"refused", fmt.Sprintf("{id: d, driver: http, timeout: 10s, url: \"http://%s\", format: json, datapoints: [{name: a, path: a}]}", testenv.FreeAddr(t)), "io", "connect", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			dev := newTestDevice(t, tc.device, reg)
			s := newSink()
			for range 2 {
				dev.poll(context.Background(), s)
			}
			st, polls, errs := s.snapshot()
			if st.Online != tc.online || !strings.Contains(st.Error, tc.inState) || polls != 2 || errs < 2 {
				t.Errorf("state %+v, polls %d, errs %d; want online %v, error with %q, 2 polls, ≥2 errors", st, polls, errs, tc.online, tc.inState)
			}
			if n := errCount(reg, "d", tc.kind); n < 2 {
				t.Errorf("gridbox_http_device_errors_total{kind=%q} = %v, want ≥ 2", tc.kind, n)
			}
		})
	}
}

// TestAmbusSOAPPerMeter: one SOAP request per meter id against recorded
// answers; a meter the gateway does not know (SOAP fault, HTTP 500) makes its
// datapoints bad without hiding the others.
func TestAmbusSOAPPerMeter(t *testing.T) {
	base := startPeer(t)
	reg := prometheus.NewRegistry()
	dev := newTestDevice(t, fmt.Sprintf("{id: heat, driver: http, timeout: 10s, url: %q, profile: ambus-net, units: [\"1001\", \"1002\", \"9999\"], pause: 10ms}", base), reg)
	if n := len(dev.Datapoints()); n != 15 {
		t.Fatalf("%d datapoints, want 5 per meter", n)
	}
	s := pollOnce(t, dev)
	wantValues(t, s, map[string]any{
		"heat_power_1001": 12.5, "flow_1001": 1.08, "heat_energy_1001": 45210.0, "flow_temperature_1001": 70.2, "return_temperature_1001": 60.3,
		"heat_power_1002": 3.25, "heat_energy_1002": 8120.0, "return_temperature_1002": 46.0,
		"heat_power_9999": nil,
	})
	if v, _ := s.value("heat_power_9999"); v.Quality != model.Bad {
		t.Errorf("unknown meter: quality %s, want bad", v.Quality)
	}
	st, _, errs := s.snapshot()
	if !st.Online || !strings.Contains(st.Error, "unit 9999") || !strings.Contains(st.Error, "HTTP 500") || errs != 1 {
		t.Errorf("state %+v errs %d; want online with the unit 9999 fault", st, errs)
	}
	if n := errCount(reg, "heat", "status"); n != 1 {
		t.Errorf("status errors = %v, want 1", n)
	}
}

// TestDachsWriteReadBack writes the GLT request through POST /setKeys and
// reads the value back with the next poll.
func TestDachsWriteReadBack(t *testing.T) {
	base := startPeer(t)
	dev := newTestDevice(t, fmt.Sprintf("{id: chp, driver: http, timeout: 10s, url: %q, profile: senertec-dachs}", base), nil)
	s := newSink()
	dev.mu.Lock()
	dev.sink = s
	dev.mu.Unlock()
	dev.poll(context.Background(), s)
	wantValues(t, s, map[string]any{"electric_power": 5300.0, "energy_thermal": 98765.0, "glt_request": 1.0})
	got, err := dev.Write(context.Background(), "glt_request", 0.0)
	if err != nil || got != 0.0 {
		t.Fatalf("Write = %v, %v; want 0 read back", got, err)
	}
	wantValues(t, s, map[string]any{"glt_request": 0.0})
}

// TestPasswordNotShown: a password in the URL never reaches the state.
func TestPasswordNotShown(t *testing.T) {
	base := startPeer(t)
	for _, url := range []string{"http://u:s3cret@" + testenv.FreeAddr(t), strings.Replace(base, "http://", "http://u:s3cret@", 1) + "/status/500"} {
		s := pollOnce(t, newTestDevice(t, fmt.Sprintf("{id: d, driver: http, url: %q, format: json, datapoints: [{name: a, path: a}]}", url), nil))
		if st, _, _ := s.snapshot(); st.Error == "" || strings.Contains(st.Error, "s3cret") || !strings.Contains(st.Error, "u:xxxxx@") {
			t.Errorf("state error %q: want the error with the password redacted", st.Error)
		}
	}
}
