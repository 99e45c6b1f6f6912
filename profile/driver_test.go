package profile_test

import (
	"testing"

	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/profile"
)

// TestBuiltinsParseWithDriver: the real Modbus driver accepts every built-in
// profile and exposes one datapoint per register.
func TestBuiltinsParseWithDriver(t *testing.T) {
	lib := profile.Builtin()
	sums, err := lib.Summaries()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sums {
		data, src, err := lib.Load(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := modbus.ParseProfile(data, src)
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
		dps := append(p.Datapoints(), p.DetectDatapoints()...)
		if len(dps) != len(s.Datapoints) {
			t.Errorf("%s: driver has %d datapoints, summary %d", s.Name, len(dps), len(s.Datapoints))
			continue
		}
		for i, dp := range dps {
			if dp.Name != s.Datapoints[i].Name || string(dp.Role) != s.Datapoints[i].Role {
				t.Errorf("%s: datapoint %d = %s/%s, want %s/%s", s.Name, i, dp.Name, dp.Role, s.Datapoints[i].Name, s.Datapoints[i].Role)
			}
		}
	}
}
