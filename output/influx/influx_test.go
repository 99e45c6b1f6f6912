package influx

import (
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
)

// TestValuesArriveAsDocumented: against a real InfluxDB 1.x, the database
// is created, each datapoint is a measurement with the tags datapoint,
// device, quality and unit (when set), numbers are float fields, bools
// boolean and text string, timestamps are the values' ms, and names, units
// and text with characters line protocol escapes arrive unchanged. Null and
// NaN are skipped and counted.
func TestValuesArriveAsDocumented(t *testing.T) {
	srv := sharedInfluxd(t)
	db := dbName(t)
	b, sub := newBus(t,
		point("power", model.ContinuousNumeric, "W"),
		point("on", model.Bool, ""),
		point("status", model.GenericText, ""),
		point("odd", model.GenericNumeric, `m³/h, a=b \x "q"`),
		point("trail", model.GenericNumeric, `back\`),
	)
	o := open(t, &Config{URL: srv.URL, Database: db, FlushEvery: dur(50 * time.Millisecond)}, b)
	stop := o.run(t, sub)
	const t0 = int64(1_700_000_000_123)
	text := "say \"hi\", a=b c\\d\nnext"
	b.Publish(
		model.Value{Device: "pv", Name: "power", Value: 1234.5, Time: t0, Quality: model.Good},
		model.Value{Device: "pv", Name: "power", Value: -0.25, Time: t0 + 1, Quality: model.Stale},
		model.Value{Device: "pv", Name: "power", Value: nil, Time: t0 + 2, Quality: model.Bad},
		model.Value{Device: "pv", Name: "power", Value: math.NaN(), Time: t0 + 3, Quality: model.Bad},
		model.Value{Device: "pv", Name: "power", Value: 1e300, Time: t0 + 4, Quality: model.Good},
		model.Value{Device: "pv", Name: "on", Value: true, Time: t0, Quality: model.Good},
		model.Value{Device: "pv", Name: "on", Value: false, Time: t0 + 1, Quality: model.Good},
		model.Value{Device: "pv", Name: "status", Value: text, Time: t0, Quality: model.Good},
		model.Value{Device: "pv", Name: "odd", Value: 7.0, Time: t0, Quality: model.Good},
		model.Value{Device: "pv", Name: "trail", Value: 8.0, Time: t0, Quality: model.Good},
	)
	testenv.Eventually(t, waitLimit, "8 values written", func() bool { return o.written() == 8 })
	stop()
	if o.dropped(dropNull) != 1 || o.dropped(dropInvalid) != 1 {
		t.Errorf("dropped null=%d invalid=%d, want 1 and 1", o.dropped(dropNull), o.dropped(dropInvalid))
	}
	if !strings.Contains(o.log.String(), "database created") {
		t.Errorf("creating the database was not logged:\n%s", o.log.String())
	}

	type row struct {
		time                             int64
		value                            any
		datapoint, device, quality, unit any
	}
	rows := func(m string) []row {
		ss := srv.query(t, db, fmt.Sprintf(`SELECT "value", "datapoint", "device", "quality", "unit" FROM %q`, m))
		if len(ss) != 1 {
			t.Fatalf("%s: %d series, want 1: %+v", m, len(ss), ss)
		}
		var out []row
		for _, v := range ss[0].Values {
			out = append(out, row{int64(v[0].(float64)), v[1], v[2], v[3], v[4], v[5]})
		}
		return out
	}
	eq := func(m string, got []row, want ...row) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s:\n got %v\nwant %v", m, got, want)
		}
	}
	eq("power", rows("power"),
		row{t0, 1234.5, "power", "pv", "good", "W"},
		row{t0 + 1, -0.25, "power", "pv", "stale", "W"},
		row{t0 + 4, 1e300, "power", "pv", "good", "W"})
	eq("on", rows("on"), row{t0, true, "on", "pv", "good", nil}, row{t0 + 1, false, "on", "pv", "good", nil})
	eq("status", rows("status"), row{t0, `say "hi", a=b c\d\nnext`, "status", "pv", "good", nil})
	eq("odd", rows("odd"), row{t0, 7.0, "odd", "pv", "good", `m³/h, a=b \x "q"`})
	eq("trail", rows("trail"), row{t0, 8.0, "trail", "pv", "good", `back\ `})

	// Field types as InfluxDB recorded them.
	types := map[string]string{}
	for _, s := range srv.query(t, db, `SHOW FIELD KEYS`) {
		types[s.Name] = fmt.Sprint(s.Values[0][1])
	}
	want := map[string]string{"power": "float", "on": "boolean", "status": "string", "odd": "float", "trail": "float"}
	if fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("field types %v, want %v", types, want)
	}
	// Tags are tags (not fields).
	tags := map[string]bool{}
	for _, s := range srv.query(t, db, `SHOW TAG KEYS FROM "power"`) {
		for _, v := range s.Values {
			tags[fmt.Sprint(v[0])] = true
		}
	}
	if len(tags) != 4 || !tags["datapoint"] || !tags["device"] || !tags["quality"] || !tags["unit"] {
		t.Errorf("tag keys of power: %v, want datapoint, device, quality, unit", tags)
	}
}

// TestFixedMeasurement: with measurement set, every datapoint is a series of
// that measurement told apart by its tags.
func TestFixedMeasurement(t *testing.T) {
	srv := sharedInfluxd(t)
	db := dbName(t)
	b, sub := newBus(t, numbers(3)...)
	o := open(t, &Config{URL: srv.URL, Database: db, Measurement: "gridbox energy", FlushEvery: dur(20 * time.Millisecond)}, b)
	o.run(t, sub)
	for i := range 3 {
		b.Publish(model.Value{Device: "pv", Name: fmt.Sprintf("p%d", i), Value: float64(i), Time: 1000, Quality: model.Good})
	}
	testenv.Eventually(t, waitLimit, "3 values written", func() bool { return o.written() == 3 })
	ss := srv.query(t, db, `SELECT "value" FROM "gridbox energy" GROUP BY "datapoint"`)
	if len(ss) != 3 {
		t.Fatalf("%d series, want 3: %+v", len(ss), ss)
	}
	for i, s := range ss {
		if s.Tags["datapoint"] != fmt.Sprintf("p%d", i) || s.Values[0][1] != float64(i) {
			t.Errorf("series %d: %+v", i, s)
		}
	}
}

// pub publishes values of datapoints p0…p<n-1> as the test's clock: value i
// of a series at t0+i ms, and every 7th a correction (value -i) of the point
// 130 values back, which must win because it is written later. The
// expected final state is recorded in want (series → time → value).
type pub struct {
	b    interface{ Publish(...model.Value) }
	n    int
	t0   int64
	i    int
	want []map[int64]float64
	sent atomic.Int64
}

func newPub(b interface{ Publish(...model.Value) }, n int, t0 int64) *pub {
	p := &pub{b: b, n: n, t0: t0, want: make([]map[int64]float64, n)}
	for s := range p.want {
		p.want[s] = map[int64]float64{}
	}
	return p
}

// next publishes one value of every series (and corrections).
func (p *pub) next() {
	vals := make([]model.Value, 0, 2*p.n)
	for s := range p.n {
		at, v := p.t0+int64(p.i), float64(p.i)
		vals = append(vals, model.Value{Device: "pv", Name: fmt.Sprintf("p%d", s), Value: v, Time: at, Quality: model.Good})
		p.want[s][at] = v
		if p.i%7 == 0 && p.i >= 130 {
			at, v = p.t0+int64(p.i-130), -float64(p.i)
			vals = append(vals, model.Value{Device: "pv", Name: fmt.Sprintf("p%d", s), Value: v, Time: at, Quality: model.Good})
			p.want[s][at] = v
		}
	}
	p.b.Publish(vals...)
	p.sent.Add(int64(len(vals)))
	p.i++
}

// check compares what InfluxDB holds with want: every point, every
// correction winning (the order of each series was kept).
func (p *pub) check(t *testing.T, srv *influxd, db string) {
	t.Helper()
	for s := range p.n {
		m := fmt.Sprintf("p%d", s)
		ss := srv.query(t, db, fmt.Sprintf(`SELECT "value" FROM %q`, m))
		got := map[int64]float64{}
		if len(ss) == 1 {
			for _, v := range ss[0].Values {
				got[int64(v[0].(float64))] = v[1].(float64)
			}
		}
		if len(got) != len(p.want[s]) {
			t.Errorf("%s: %d points in InfluxDB, want %d", m, len(got), len(p.want[s]))
		}
		bad := 0
		for at, v := range p.want[s] {
			if g, ok := got[at]; !ok || g != v {
				if bad++; bad <= 5 {
					t.Errorf("%s at %d: got %v (present %v), want %v", m, at, g, ok, v)
				}
			}
		}
		if bad > 5 {
			t.Errorf("%s: %d points wrong in all", m, bad)
		}
	}
}

func (p *pub) points() int {
	n := 0
	for _, w := range p.want {
		n += len(w)
	}
	return n
}
