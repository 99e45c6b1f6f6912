package storetest

import (
	"cmp"
	"math"
	"math/big"
	"slices"
	"testing"

	"github.com/gridbox/gridbox/model"
)

// ExpectEnergy is the raw computation of agg=energy, written apart from the
// stores' code: the good numeric values of vals (every time, also outside
// [from, to]) joined by straight lines, each line's part inside [from, to+1)
// and inside a bucket integrated exactly, in Wh taking values as W. A bucket
// holding a value or crossed by a line has a sample.
func ExpectEnergy(vals []model.Value, from, to, iv int64) []model.Sample {
	type pt struct {
		t int64
		v float64
	}
	var pts []pt
	for _, v := range vals {
		f, ok := model.AsFloat(v.Value)
		if _, isBool := v.Value.(bool); !ok || isBool || math.IsNaN(f) || (v.Quality != model.Good && v.Quality != "") {
			continue
		}
		pts = append(pts, pt{v.Time, f})
	}
	slices.SortFunc(pts, func(a, b pt) int { return cmp.Compare(a.t, b.t) })
	floor := func(ts int64) int64 { return ts - ((ts%iv)+iv)%iv }
	m := map[int64]float64{}
	for _, p := range pts {
		if p.t >= from && p.t <= to {
			m[floor(p.t)] += 0
		}
	}
	end := big.NewInt(to)
	end.Add(end, big.NewInt(1))
	for i := 1; i < len(pts); i++ {
		a, c := pts[i-1], pts[i]
		slope := (c.v - a.v) / float64(c.t-a.t)
		// ∫ a.v + slope·(x−a.t) dx over [x0, x1]
		area := func(x0, x1 int64) float64 {
			d0, d1 := float64(x0-a.t), float64(x1-a.t)
			return a.v*(d1-d0) + slope*(d1*d1-d0*d0)/2
		}
		lo := max(a.t, from)
		hi := c.t
		if end.IsInt64() && end.Int64() < hi {
			hi = end.Int64()
		}
		if hi <= lo {
			continue // the line lies outside the range
		}
		for b := floor(lo); b < hi; b += iv {
			x0, x1 := max(b, lo), hi
			if b+iv < hi {
				x1 = b + iv
			}
			m[b] += area(x0, x1)
		}
	}
	out := []model.Sample{}
	for b, e := range m {
		out = append(out, model.Sample{Time: b, Value: e / 3_600_000, Quality: model.Good})
	}
	slices.SortFunc(out, func(a, b model.Sample) int { return cmp.Compare(a.Time, b.Time) })
	return out
}

// CompareEnergy compares energy answers: the stores split lines with
// another formula than ExpectEnergy, so values agree to rounding.
func CompareEnergy(t *testing.T, got, want []model.Sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d samples, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		gf, ok := g.Value.(float64)
		wf := w.Value.(float64)
		if !ok || g.Time != w.Time || g.Quality != w.Quality || math.Abs(gf-wf) > 1e-6+1e-9*math.Abs(wf) {
			t.Fatalf("sample %d: got %+v, want %+v", i, g, w)
		}
	}
}
