package store

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/samples"
	"github.com/gridbox/gridbox/store/storetest"
)

// genHistory makes seeded random values for pv/p over several one-minute
// buckets: negative and positive numbers, values exactly on bucket starts,
// and some stale, bad, null and string values that aggregation must skip.
func genHistory(seed uint64, t0 int64, buckets int) []model.Value {
	r := rand.New(rand.NewPCG(seed, seed))
	var vals []model.Value
	used := map[int64]bool{}
	add := func(ts int64, v any, q model.Quality) {
		if !used[ts] {
			used[ts] = true
			vals = append(vals, model.Value{Device: "pv", Name: "p", Value: v, Time: ts, Quality: q})
		}
	}
	for b := range int64(buckets) {
		start := t0 + b*60_000
		if b == 3 {
			continue // an empty bucket
		}
		add(start, r.Float64()*2000-1000, model.Good)        // on the boundary
		add(start+59_999, r.Float64()*2000-1000, model.Good) // last ms of the bucket
		for range r.IntN(20) {
			ts := start + r.Int64N(60_000)
			switch k := r.IntN(10); {
			case k == 0:
				add(ts, r.Float64()*1e6, model.Stale)
			case k == 1:
				add(ts, -r.Float64()*1e6, model.Bad)
			case k == 2:
				add(ts, nil, model.Good)
			case k == 3:
				add(ts, "text", model.Good)
			default:
				add(ts, math.Round((r.Float64()*2000-1000)*8)/8, model.Good)
			}
		}
	}
	r.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	return vals
}

// expectAgg computes the answer in Go: good numeric values only, buckets
// floor(ts/iv)*iv, empty buckets omitted.
func expectAgg(vals []model.Value, from, to, iv int64, agg string) []model.Sample {
	type acc struct {
		n, sum, min, max, first, last float64
		firstT, lastT                 int64
	}
	m := map[int64]*acc{}
	for _, v := range vals {
		f, ok := v.Value.(float64)
		if !ok || v.Quality != model.Good || v.Time < from || v.Time > to {
			continue
		}
		b := v.Time - ((v.Time%iv)+iv)%iv
		a := m[b]
		if a == nil {
			a = &acc{min: f, max: f, first: f, last: f, firstT: v.Time, lastT: v.Time}
			m[b] = a
		}
		a.n++
		a.sum += f
		a.min, a.max = min(a.min, f), max(a.max, f)
		if v.Time < a.firstT {
			a.first, a.firstT = f, v.Time
		}
		if v.Time > a.lastT {
			a.last, a.lastT = f, v.Time
		}
	}
	var out []model.Sample
	for b, a := range m {
		x := map[string]float64{"mean": a.sum / a.n, "min": a.min, "max": a.max, "sum": a.sum,
			"count": a.n, "first": a.first, "last": a.last}[agg]
		out = append(out, model.Sample{Time: b, Value: x, Quality: model.Good})
	}
	slices.SortFunc(out, func(a, b model.Sample) int { return int(a.Time - b.Time) })
	return out
}

func TestHistoryAggregatesMatchGo(t *testing.T) {
	s := openTest(t, Options{})
	t0 := int64(1_700_000_040_000) // a multiple of 60 000
	vals := genHistory(42, t0, 8)
	mustWrite(t, s, vals...)
	ranges := []struct {
		name     string
		from, to int64
		iv       time.Duration
	}{
		{"whole range 1m", t0, t0 + 8*60_000, time.Minute},
		{"cut mid-bucket", t0 + 30_000, t0 + 5*60_000 + 15_000, time.Minute},
		{"to on a boundary", t0, t0 + 2*60_000, time.Minute},
		{"7s buckets, not aligned to minutes", t0, t0 + 8*60_000, 7 * time.Second},
		{"one bucket over all", 0, math.MaxInt64, 1000 * time.Hour},
	}
	for _, rg := range ranges {
		for _, agg := range model.Aggs() {
			t.Run(rg.name+"/"+agg, func(t *testing.T) {
				q := model.HistoryQuery{Device: "pv", Name: "p", From: rg.from, To: rg.to, Interval: rg.iv, Agg: agg}
				got, err := s.History(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				want, compare := expectAgg(vals, rg.from, rg.to, rg.iv.Milliseconds(), agg), compareSamples
				if agg == samples.AggEnergy {
					want, compare = storetest.ExpectEnergy(vals, rg.from, rg.to, rg.iv.Milliseconds()), storetest.CompareEnergy
				}
				if len(want) == 0 {
					t.Fatal("test data gives no buckets")
				}
				compare(t, got, want)
			})
		}
	}
}

func compareSamples(t *testing.T, got, want []model.Sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d samples, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		gf, _ := g.Value.(float64)
		wf := w.Value.(float64)
		if g.Time != w.Time || g.Quality != w.Quality || math.Abs(gf-wf) > 1e-9*max(1, math.Abs(wf)) {
			t.Errorf("sample %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestHistoryRawOrderBoundsAndLimit(t *testing.T) {
	s := openTest(t, Options{})
	var vals []model.Value
	for i := int64(9); i >= 0; i-- { // written newest first
		vals = append(vals, model.Value{Device: "d", Name: "p", Value: float64(i), Time: 100 + i*10, Quality: model.Good})
	}
	vals = append(vals, model.Value{Device: "d", Name: "other", Value: 1.0, Time: 120, Quality: model.Good})
	mustWrite(t, s, vals...)
	cases := []struct {
		name           string
		from, to       int64
		limit          int
		wantFirst, len int
	}{
		{"all", 0, 1000, 0, 0, 10},
		{"inclusive bounds", 120, 150, 0, 2, 4},
		{"limit keeps earliest", 0, 1000, 3, 0, 3},
		{"empty range", 101, 109, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.History(context.Background(), model.HistoryQuery{Device: "d", Name: "p", From: c.from, To: c.to, Limit: c.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.len {
				t.Fatalf("got %d samples, want %d", len(got), c.len)
			}
			for i, smp := range got {
				if want := float64(c.wantFirst + i); smp.Value != want || smp.Time != 100+int64(want)*10 {
					t.Errorf("sample %d = %+v, want value %v", i, smp, want)
				}
			}
		})
	}
}

// TestHistoryUnknownDatapoint: a datapoint the store never kept a value of
// is ErrNoHistory (the API then answers 404 unless the datapoint exists).
func TestHistoryUnknownDatapoint(t *testing.T) {
	s := openTest(t, Options{})
	mustWrite(t, s, model.Value{Device: "d", Name: "p", Value: 1.0, Time: 1})
	for _, q := range []model.HistoryQuery{
		{Device: "d", Name: "nope", To: 10},
		{Device: "x", Name: "p", To: 10, Interval: time.Second, Agg: "mean"},
	} {
		got, err := s.History(context.Background(), q)
		if !errors.Is(err, model.ErrNoHistory) || len(got) != 0 {
			t.Errorf("%+v: got %v, %v; want ErrNoHistory", q, got, err)
		}
	}
}

func TestHistoryBadQueryNamesField(t *testing.T) {
	s := openTest(t, Options{})
	cases := []struct {
		name  string
		q     model.HistoryQuery
		field string
	}{
		{"to before from", model.HistoryQuery{From: 10, To: 5}, "to"},
		{"negative interval", model.HistoryQuery{To: 5, Interval: -time.Second, Agg: "mean"}, "interval"},
		{"interval below 1ms", model.HistoryQuery{To: 5, Interval: time.Microsecond, Agg: "mean"}, "interval"},
		{"fractional ms interval", model.HistoryQuery{To: 5, Interval: 1500 * time.Microsecond, Agg: "mean"}, "interval"},
		{"unknown agg", model.HistoryQuery{To: 5, Interval: time.Second, Agg: "median"}, "agg"},
		{"missing agg", model.HistoryQuery{To: 5, Interval: time.Second}, "agg"},
		{"negative limit", model.HistoryQuery{To: 5, Limit: -1}, "limit"},
		{"limit above max", model.HistoryQuery{To: 5, Limit: MaxRows + 1}, "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.q.Device, c.q.Name = "d", "p"
			_, err := s.History(context.Background(), c.q)
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("got %v, want a *QueryError", err)
			}
			if qe.Field != c.field {
				t.Errorf("field %q (%v), want %q", qe.Field, err, c.field)
			}
		})
	}
}

func TestHistoryTooManyRowsNeedsLimit(t *testing.T) {
	s := openTest(t, Options{})
	vals := make([]model.Value, MaxRows+1)
	for i := range vals {
		vals[i] = model.Value{Device: "d", Name: "p", Value: float64(i), Time: int64(i), Quality: model.Good}
	}
	mustWrite(t, s, vals...)
	q := model.HistoryQuery{Device: "d", Name: "p", From: 0, To: MaxRows}
	_, err := s.History(context.Background(), q)
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Field != "limit" {
		t.Fatalf("got %v, want a QueryError on limit", err)
	}
	q.To = MaxRows - 1 // exactly MaxRows rows is fine
	if got, err := s.History(context.Background(), q); err != nil || len(got) != MaxRows {
		t.Fatalf("exactly MaxRows: got %d, %v", len(got), err)
	}
	q.To, q.Limit = MaxRows, MaxRows
	if got, err := s.History(context.Background(), q); err != nil || len(got) != MaxRows {
		t.Fatalf("with limit: got %d, %v", len(got), err)
	}
}
