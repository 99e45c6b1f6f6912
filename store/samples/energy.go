package samples

import (
	"fmt"
	"math"

	"github.com/gridbox/gridbox/model"
)

// AggEnergy is the history aggregation answering the energy of a power
// datapoint per bucket in Wh: the integral of the straight lines between
// consecutive good values (trapezoidal rule), split at bucket boundaries.
const AggEnergy = "energy"

// msPerHour converts value·ms to value·h.
const msPerHour = 3_600_000

// Point is one good numeric value.
type Point struct {
	T int64
	V float64
}

// Trapezoid is the integral (value·ms) of the straight line from a to b.
func Trapezoid(a, b Point) float64 { return float64(b.T-a.T) * (a.V + b.V) / 2 }

// at is the value of the straight line from a to b at x (a.T ≤ x ≤ b.T),
// exactly a.V and b.V at the ends.
func at(a, b Point, x int64) float64 {
	switch x {
	case a.T:
		return a.V
	case b.T:
		return b.V
	}
	return a.V + (b.V-a.V)*(float64(x-a.T)/float64(b.T-a.T))
}

// Energy answers agg=energy over [from, to] in buckets of iv ms: bs are
// the non-empty buckets in time order (their first and last values and E); before and after are the nearest
// good values outside the range (nil: none). The line between consecutive
// values is split at bucket boundaries and at the range ends, so a bucket
// without values that such a line crosses has a sample too. scale converts
// value·h to Wh (1 for W, 1000 for kW). At most limit samples are returned;
// bs may hold one bucket more than that, whose first value ends the last
// answered bucket's line.
func Energy(bs []Bucket, before, after *Point, from, to, iv int64, scale float64, limit int) []model.Sample {
	l := energyList{iv: iv, from: from, end: to, limit: limit}
	if to < math.MaxInt64 {
		l.end = to + 1
	}
	prev := before
	for i := range bs {
		a := &bs[i].A
		if prev != nil {
			l.segment(*prev, Point{a.FT, a.FV})
		}
		if !l.add(bs[i].B, a.E) {
			prev = nil
			break
		}
		prev = &Point{a.LT, a.LV}
	}
	if prev != nil && after != nil {
		l.segment(*prev, *after)
	}
	out := make([]model.Sample, 0, len(l.out))
	for _, b := range l.out {
		out = append(out, model.Sample{Time: b.b, Value: b.e * scale / msPerHour, Quality: model.Good})
	}
	return out
}

// energyList collects the integral per bucket, buckets added in order.
type energyList struct {
	iv, from, end int64 // the range is [from, end) in continuous time
	limit         int
	out           []struct {
		b int64
		e float64
	}
}

// add adds e to bucket b, the last one or a new one after it; a new one
// beyond the limit is refused (false).
func (l *energyList) add(b int64, e float64) bool {
	if n := len(l.out); n > 0 && l.out[n-1].b == b {
		l.out[n-1].e += e
		return true
	}
	if len(l.out) >= l.limit {
		return false
	}
	l.out = append(l.out, struct {
		b int64
		e float64
	}{b, e})
	return true
}

// segment adds the line from a to c, clipped to the range, to every bucket
// it crosses, a piece per bucket.
func (l *energyList) segment(a, c Point) {
	lo, hi := max(a.T, l.from), min(c.T, l.end)
	if hi <= lo {
		return
	}
	for b := FloorTo(lo, l.iv); ; b += l.iv {
		x0, x1 := max(lo, b), hi
		if b <= hi-l.iv { // b+iv ≤ hi, without overflow
			x1 = b + l.iv
		}
		if !l.add(b, float64(x1-x0)*(at(a, c, x0)+at(a, c, x1))/2) || x1 == hi {
			return
		}
	}
}

// UnitOf looks up a datapoint's unit in the catalog; ok is false for a
// datapoint the catalog does not know (a removed or history-only one).
type UnitOf func(device, name string) (unit string, ok bool)

// powerScale converts value·h of a power unit to Wh.
var powerScale = map[string]float64{"W": 1, "kW": 1e3, "MW": 1e6}

// EnergyScale is the factor from value·h to Wh for the datapoint of q: by
// its unit in the catalog (W, kW, MW). A datapoint the catalog does not
// know, or every datapoint when units is nil, is taken as W. A known
// datapoint with another unit is refused with a QueryError on agg.
func EnergyScale(units UnitOf, q model.HistoryQuery) (float64, error) {
	if units == nil {
		return 1, nil
	}
	u, ok := units(q.Device, q.Name)
	if !ok {
		return 1, nil
	}
	if f, ok := powerScale[u]; ok {
		return f, nil
	}
	return 0, &model.QueryError{Field: "agg", Msg: fmt.Sprintf(
		"agg energy needs a power datapoint (unit W, kW or MW); %s has unit %q", model.Key(q.Device, q.Name), u)}
}
