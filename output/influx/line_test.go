package influx

import (
	"math"
	"testing"

	"github.com/gridbox/gridbox/model"
)

// TestLineProtocol: the mapping and the escaping of every part of a line.
func TestLineProtocol(t *testing.T) {
	v := func(name string, x any) model.Value {
		return model.Value{Device: "pv", Name: name, Value: x, Time: 1_700_000_000_123, Quality: model.Good}
	}
	for _, c := range []struct {
		what        string
		measurement string
		precision   string
		v           model.Value
		unit        string
		want        string // "" = no line
		why         string
	}{
		{"float", "", "ms", v("power", 1234.5), "W", "power,datapoint=power,device=pv,quality=good,unit=W value=1234.5 1700000000123\n", ""},
		{"whole float has no i suffix", "", "ms", v("power", 3.0), "", "power,datapoint=power,device=pv,quality=good value=3 1700000000123\n", ""},
		{"large float", "", "ms", v("e", -1.5e-300), "", "e,datapoint=e,device=pv,quality=good value=-1.5e-300 1700000000123\n", ""},
		{"bool", "", "ms", v("on", true), "", "on,datapoint=on,device=pv,quality=good value=true 1700000000123\n", ""},
		{"string: quotes, backslashes, line breaks", "", "ms", v("s", "a \"b\" c\\d\ne\r"), "", `s,datapoint=s,device=pv,quality=good value="a \"b\" c\\d\\ne\\r" 1700000000123` + "\n", ""},
		{"unit: comma, equals sign, space", "", "ms", v("p", 1.0), "m³/h, a=b", `p,datapoint=p,device=pv,quality=good,unit=m³/h\,\ a\=b value=1 1700000000123` + "\n", ""},
		{"unit: backslash kept, before a comma too", "", "ms", v("p", 1.0), `a\b\,c`, `p,datapoint=p,device=pv,quality=good,unit=a\b\\,c value=1 1700000000123` + "\n", ""},
		{"unit: trailing backslash gets a space", "", "ms", v("p", 1.0), `x\`, `p,datapoint=p,device=pv,quality=good,unit=x\\  value=1 1700000000123` + "\n", ""},
		{"unit: line break becomes a space", "", "ms", v("p", 1.0), "a\nb", `p,datapoint=p,device=pv,quality=good,unit=a\ b value=1 1700000000123` + "\n", ""},
		{"fixed measurement: comma and space escaped, equals sign not", "grid box,x=y", "ms", v("p", 1.0), "", `grid\ box\,x=y,datapoint=p,device=pv,quality=good value=1 1700000000123` + "\n", ""},
		{"precision ns", "", "ns", v("p", 1.0), "", "p,datapoint=p,device=pv,quality=good value=1 1700000000123000000\n", ""},
		{"precision us", "", "us", v("p", 1.0), "", "p,datapoint=p,device=pv,quality=good value=1 1700000000123000\n", ""},
		{"precision s", "", "s", v("p", 1.0), "", "p,datapoint=p,device=pv,quality=good value=1 1700000000\n", ""},
		{"null skipped", "", "ms", v("p", nil), "", "", dropNull},
		{"NaN skipped", "", "ms", v("p", math.NaN()), "", "", dropInvalid},
		{"Inf skipped", "", "ms", v("p", math.Inf(-1)), "", "", dropInvalid},
		{"unknown type skipped", "", "ms", v("p", []int{1}), "", "", dropInvalid},
	} {
		e := newEncoder(c.measurement, c.precision)
		got, why := e.append([]byte("x\n"), c.v, c.unit)
		if string(got[2:]) != c.want || why != c.why {
			t.Errorf("%s:\n got %q (%q)\nwant %q (%q)", c.what, got[2:], why, c.want, c.why)
		}
	}
}

func TestFloorDiv(t *testing.T) {
	for _, c := range [][3]int64{{1999, 1000, 1}, {-1, 1000, -1}, {-1000, 1000, -1}, {-1001, 1000, -2}, {0, 1000, 0}} {
		if got := floorDiv(c[0], c[1]); got != c[2] {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	e := newEncoder("", "ms")
	v := model.Value{Device: "pv", Name: "ac_power", Value: 1234.5, Time: 1_700_000_000_123, Quality: model.Good}
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf, _ = e.append(buf[:0], v, "W")
	}
}
