package storetest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

// testRollups: over days of values written in order, then late and
// overwriting batches, then after a reopen more of both, every agg at
// intervals that rollups serve (1m … 2d, aligned and cut ranges) and one
// they do not (7s) answers what the Go computation over the stored values
// answers. Values lie on a 1/8 grid with a few that aggregates skip.
func testRollups(t *testing.T, open func(t *testing.T) Store) {
	const day = int64(86_400_000)
	t0 := int64(1_700_006_400_000) // a day boundary
	r := rand.New(rand.NewPCG(3, 4))
	kept := map[int64]model.Value{}
	write := func(s Store, n int, lo, hi int64) {
		vals := make([]model.Value, 0, n)
		ts := lo + r.Int64N(hi-lo)
		for range n {
			if r.IntN(3) == 0 {
				ts = lo + r.Int64N(hi-lo)
			} else {
				ts = min(ts+1000, hi-1)
			}
			v := model.Value{Device: "d", Name: "p", Time: ts, Quality: model.Good,
				Value: math.Round((r.Float64()*2000-1000)*8) / 8}
			switch r.IntN(12) {
			case 0:
				v.Quality = model.Bad
			case 1:
				v.Value = "text"
			}
			vals = append(vals, v)
			kept[ts] = v
		}
		mustWrite(t, s, vals...)
	}
	s := open(t)
	for i := range int64(6) { // in order, 12 h each
		write(s, 400, t0+i*day/2, t0+(i+1)*day/2)
	}
	for range 3 { // late, overwriting
		write(s, 200, t0, t0+3*day)
	}
	s.Close()
	s = open(t)
	write(s, 300, t0+3*day, t0+4*day)
	write(s, 200, t0, t0+4*day)
	all := make([]model.Value, 0, len(kept))
	for _, v := range kept {
		all = append(all, v)
	}
	ivs := []time.Duration{time.Minute, 15 * time.Minute, time.Hour, 3 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * time.Second}
	for range 12 {
		from := t0 - day/2 + r.Int64N(5*day)
		to := from + r.Int64N(3*day)
		if r.IntN(2) == 0 { // aligned to a minute, hour or day
			res := []int64{60_000, 3_600_000, day}[r.IntN(3)]
			from -= ((from % res) + res) % res
			to = to - ((to%res)+res)%res - 1
		}
		to = max(from, to)
		iv := ivs[r.IntN(len(ivs))]
		for _, agg := range model.Aggs() {
			q := model.HistoryQuery{Device: "d", Name: "p", From: from, To: to, Interval: iv, Agg: agg}
			want, compare := expectAgg(all, from, to, iv.Milliseconds(), agg), compareSamples
			if agg == "energy" {
				want, compare = ExpectEnergy(all, from, to, iv.Milliseconds()), CompareEnergy
			}
			if len(want) > MaxRows {
				continue
			}
			got := history(t, s, q)
			if !slices.EqualFunc(got, want, func(a, b model.Sample) bool { return a.Time == b.Time }) {
				t.Fatalf("%+v: %d buckets, want %d", q, len(got), len(want))
			}
			compare(t, got, want)
		}
	}
}
