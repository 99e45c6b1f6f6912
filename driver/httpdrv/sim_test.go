package httpdrv

import (
	"context"
	"fmt"
	"testing"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/sim/httpsim"
)

func startSim(t testing.TB, name string) *httpsim.Server {
	t.Helper()
	s, err := httpsim.Start(context.Background(), name, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestProfilesAgainstSimulators reads each built-in profile's simulator
// through the driver: every datapoint has a value, no errors.
func TestProfilesAgainstSimulators(t *testing.T) {
	tests := []struct {
		profile, extra string
		want           map[string]any
	}{
		{"fronius-solar-api", "", map[string]any{"pv_power": 2500.0, "grid_power": -1200.0, "load_power": -800.0, "battery_power": 500.0, "battery_soc": 55.5}},
		{"senertec-dachs", "", map[string]any{"electric_power": 5300.0, "starts": 1234.0, "fault": 0.0, "glt_request": 1.0}},
		{"ambus-net", `, units: ["1001", "1002"], pause: 1ms`, map[string]any{"heat_power_1001": 12.5, "flow_1002": 0.31, "return_temperature_1002": 46.0}},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			s := startSim(t, tc.profile)
			dev := newTestDevice(t, fmt.Sprintf("{id: d, driver: http, timeout: 10s, url: %q, profile: %s%s}", s.URL(), tc.profile, tc.extra), nil)
			out := pollOnce(t, dev)
			wantValues(t, out, tc.want)
			for _, p := range dev.Datapoints() {
				if v, ok := out.value(p.Name); !ok || v.Value == nil {
					t.Errorf("%s: no value (%v)", p.Name, v)
				}
			}
			if st, _, errs := out.snapshot(); !st.Online || errs != 0 {
				t.Errorf("state %+v errs %d", st, errs)
			}
		})
	}
}

// TestDachsSimulatorWrite: running Run, a write of glt_request 0 stops the
// simulated CHP; the read-back and the next polls show it.
func TestDachsSimulatorWrite(t *testing.T) {
	s := startSim(t, "senertec-dachs")
	dev := newTestDevice(t, fmt.Sprintf("{id: chp, driver: http, timeout: 10s, url: %q, profile: senertec-dachs, interval: 50ms}", s.URL()), nil)
	out := newSink()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dev.Run(ctx, out) }()
	defer func() { cancel(); <-done }()
	testenv.Eventually(t, 10e9, "first poll", func() bool { _, ok := out.value("glt_request"); return ok })
	got, err := dev.Write(ctx, "glt_request", 0.0)
	if err != nil || got != 0.0 {
		t.Fatalf("Write = %v, %v", got, err)
	}
	testenv.Eventually(t, 10e9, "electric_power 0", func() bool { v, _ := out.value("electric_power"); return v.Value == 0.0 })
	if _, err := dev.Write(ctx, "glt_request", 2.0); err == nil {
		t.Error("the simulator accepted 2 (the bus checks allowed values first; the device refuses too)")
	}
}
