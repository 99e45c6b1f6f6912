package profile_test

import (
	"fmt"
	"testing"

	"github.com/gridbox/gridbox/driver/httpdrv"
	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/profile"
)

// TestBuiltinsParseWithDriver: the real driver of each built-in profile
// (Modbus, HTTP) accepts it and exposes one datapoint per listed datapoint.
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
		var dps []model.Datapoint
		switch s.Driver {
		case "modbus":
			p, perr := modbus.ParseProfile(data, src)
			if err = perr; err == nil {
				dps = append(p.Datapoints(), p.DetectDatapoints()...)
			}
		case "http":
			p, perr := httpdrv.ParseProfile(data, src)
			if err = perr; err == nil {
				dps = p.Datapoints()
			}
		default:
			err = fmt.Errorf("driver %q has no check here: add it", s.Driver)
		}
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
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
