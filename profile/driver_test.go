package profile_test

import (
	"testing"

	"github.com/gridbox/gridbox/driver/httpdrv"
	"github.com/gridbox/gridbox/driver/keba"
	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/driver/mqttsrc"
	"github.com/gridbox/gridbox/profile"
)

// TestBuiltinsParseWithDriver: the real driver of each built-in profile
// accepts it and has one datapoint per entry, in order, with the role the
// listing shows.
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
		type point struct{ name, role string }
		var got []point
		switch s.Driver {
		case "modbus":
			p, err := modbus.ParseProfile(data, src)
			if err != nil {
				t.Errorf("%s: %v", s.Name, err)
				continue
			}
			for _, dp := range append(p.Datapoints(), p.DetectDatapoints()...) {
				got = append(got, point{dp.Name, string(dp.Role)})
			}
		case "http":
			p, err := httpdrv.ParseProfile(data, src)
			if err != nil {
				t.Errorf("%s: %v", s.Name, err)
				continue
			}
			for _, dp := range p.Datapoints() {
				got = append(got, point{dp.Name, string(dp.Role)})
			}
		case "mqtt":
			p, err := mqttsrc.ParseProfile(data, src)
			if err != nil {
				t.Errorf("%s: %v", s.Name, err)
				continue
			}
			for _, dp := range p.Datapoints {
				got = append(got, point{dp.Name, dp.Role})
			}
		case "keba":
			p, err := keba.ParseProfile(data, src)
			if err != nil {
				t.Errorf("%s: %v", s.Name, err)
				continue
			}
			for _, d := range p.Datapoints {
				got = append(got, point{d.Name, d.Role})
			}
		default:
			t.Errorf("%s: no test for driver %q", s.Name, s.Driver)
			continue
		}
		if len(got) != len(s.Datapoints) {
			t.Errorf("%s: driver has %d datapoints, summary %d", s.Name, len(got), len(s.Datapoints))
			continue
		}
		for i, dp := range got {
			if dp.name != s.Datapoints[i].Name || dp.role != s.Datapoints[i].Role {
				t.Errorf("%s: datapoint %d = %s/%s, want %s/%s", s.Name, i, dp.name, dp.role, s.Datapoints[i].Name, s.Datapoints[i].Role)
			}
		}
	}
}
