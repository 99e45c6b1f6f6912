package store

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/samples"
	"github.com/gridbox/gridbox/store/storetest"
)

const (
	eqDay  = int64(86_400_000)
	eqT0   = int64(1_700_006_400_000) // a day boundary (UTC)
	eqSpan = 5 * eqDay
)

// eqNames are the datapoints of the equivalence tests.
var eqNames = []string{"a", "b", "c"}

// randValue is a value of random kind and quality. Numbers lie on a 1/8
// grid so every sum is exact in float64 whatever the order of additions:
// rollup and raw answers can then be compared with ==.
func randValue(r *rand.Rand) (any, model.Quality) {
	switch k := r.IntN(20); {
	case k == 0:
		return r.Float64(), model.Stale
	case k == 1:
		return -1.0, model.Bad
	case k == 2:
		return nil, model.Good
	case k == 3:
		return "text", model.Good
	case k == 4:
		return r.IntN(2) == 0, model.Good
	case k == 5:
		return math.NaN(), model.Good
	}
	return math.Round((r.Float64()*2000-1000)*8) / 8, model.Good
}

// randBatch makes n values at random times in [lo, hi), some dense (1 s
// apart), some of them repeating a timestamp within the batch.
func randBatch(r *rand.Rand, n int, lo, hi int64) []model.Value {
	vals := make([]model.Value, 0, n)
	ts := lo + r.Int64N(hi-lo)
	for range n {
		switch k := r.IntN(10); {
		case k < 6:
			ts += 1000 // dense run
		case k < 9:
			ts = lo + r.Int64N(hi-lo) // anywhere
		}
		// k == 9: the same timestamp again
		v, q := randValue(r)
		vals = append(vals, model.Value{Device: "d", Name: eqNames[r.IntN(len(eqNames))], Value: v, Time: min(ts, hi-1), Quality: q})
	}
	return vals
}

// writeRandom writes in-order batches over the span, then late batches
// into the past (overwriting stored timestamps too).
func writeRandom(t *testing.T, s *Store, r *rand.Rand, lo, hi int64, batches int) {
	t.Helper()
	step := (hi - lo) / int64(batches)
	for i := range int64(batches) {
		mustWrite(t, s, randBatch(r, 150, lo+i*step, lo+(i+1)*step)...)
	}
	for range batches / 2 {
		mustWrite(t, s, randBatch(r, 100, lo, hi)...)
	}
}

var eqIntervals = []time.Duration{time.Minute, 2 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 3 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * time.Second}

// randRange returns a query range: aligned to a random resolution or not.
func randRange(r *rand.Rand, lo, hi int64) (int64, int64) {
	from := lo - eqDay/2 + r.Int64N(hi-lo+eqDay)
	to := from + r.Int64N(hi-from+eqDay/2)
	if r.IntN(2) == 0 {
		res := rollupRes[r.IntN(len(rollupRes))]
		from = floorTo(from, res)
		to = floorTo(to, res) + res*int64(r.IntN(2)) - int64(r.IntN(2))
	}
	return from, max(from, to)
}

// checkEquivalent asks random queries with every agg and compares the
// rollup answer with the raw SQL aggregation exactly.
func checkEquivalent(t *testing.T, s *Store, r *rand.Rand, lo, hi int64, queries int) {
	t.Helper()
	ctx := context.Background()
	for range queries {
		from, to := randRange(r, lo, hi)
		iv := eqIntervals[r.IntN(len(eqIntervals))]
		name := eqNames[r.IntN(len(eqNames))]
		id, _ := s.ids.Get(samples.Key{Device: "d", Name: name})
		for _, agg := range model.Aggs() {
			q := model.HistoryQuery{Device: "d", Name: name, From: from, To: to, Interval: iv, Agg: agg}
			got, err := s.History(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if agg == samples.AggEnergy {
				want := storetest.ExpectEnergy(allRaw(t, s, name), from, to, iv.Milliseconds())
				t.Run(fmt.Sprintf("%s from %d to %d interval %s energy", name, from, to, iv), func(t *testing.T) {
					storetest.CompareEnergy(t, got, want)
				})
				continue
			}
			want, err := s.aggregateSQL(ctx, id, q, MaxRows+1)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s from %d to %d interval %s agg %s: rollups differ from raw:\n got %v\nwant %v",
					name, from, to, iv, agg, got, want)
			}
		}
	}
}

// allRaw returns every stored value of d/name as values.
func allRaw(t *testing.T, s *Store, name string) []model.Value {
	t.Helper()
	smp, err := s.History(context.Background(), model.HistoryQuery{Device: "d", Name: name, From: math.MinInt64, To: math.MaxInt64, Limit: MaxRows})
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]model.Value, len(smp))
	for i, x := range smp {
		vals[i] = model.Value{Device: "d", Name: name, Time: x.Time, Value: x.Value, Quality: x.Quality}
	}
	return vals
}

// dumpRollups returns every rollups row as text, in key order.
func dumpRollups(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.rdb.Query("SELECT dp, res, b, n, sum, mn, mx, ft, fv, lt, lv, e FROM rollups ORDER BY dp, res, b")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var dp, res, b int64
		var a acc
		if err := rows.Scan(&dp, &res, &b, &a.N, &a.Sum, &a.Mn, &a.Mx, &a.FT, &a.FV, &a.LT, &a.LV, &a.E); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %d %d %+v", dp, res, b, a))
	}
	return out
}

// rebuiltRollups reopens the store at dir with its rollups marked for a
// rebuild from raw, and returns the rebuilt rows.
func rebuiltRollups(t *testing.T, dir string) []string {
	t.Helper()
	s := openTest(t, Options{Path: dir})
	if _, err := s.wdb.Exec("DELETE FROM rollups; INSERT INTO store_meta VALUES ('rollups_pending', 1)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dumpRollups(t, openTest(t, Options{Path: dir}))
}

// TestRollupsEqualRaw: after in-order, late and overwriting batches, every
// agg at every interval over aligned and unaligned ranges answers exactly
// what the raw SQL aggregation answers, and the incrementally kept rollups
// equal rollups rebuilt from raw.
func TestRollupsEqualRaw(t *testing.T) {
	for seed := range uint64(2) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, Options{Path: dir})
			r := rand.New(rand.NewPCG(seed, 7))
			writeRandom(t, s, r, eqT0, eqT0+eqSpan, 16)
			checkEquivalent(t, s, r, eqT0, eqT0+eqSpan, 40)
			kept := dumpRollups(t, s)
			s.Close()
			if rebuilt := rebuiltRollups(t, dir); !slices.Equal(kept, rebuilt) {
				t.Fatalf("incremental rollups (%d rows) differ from a rebuild (%d rows)", len(kept), len(rebuilt))
			}
		})
	}
}

// TestRollupsAcrossRestart: rollups survive close/open and keep being
// extended (new and late values) after it.
func TestRollupsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(11, 12))
	s := openTest(t, Options{Path: dir})
	writeRandom(t, s, r, eqT0, eqT0+2*eqDay, 8)
	before := dumpRollups(t, s)
	s.Close()
	s = openTest(t, Options{Path: dir})
	if after := dumpRollups(t, s); !slices.Equal(before, after) || len(after) == 0 {
		t.Fatalf("reopen changed the rollups: %d rows before, %d after", len(before), len(after))
	}
	writeRandom(t, s, r, eqT0+eqDay, eqT0+4*eqDay, 8)
	checkEquivalent(t, s, r, eqT0, eqT0+4*eqDay, 25)
	kept := dumpRollups(t, s)
	s.Close()
	if rebuilt := rebuiltRollups(t, dir); !slices.Equal(kept, rebuilt) {
		t.Fatal("rollups extended after a restart differ from a rebuild")
	}
}

// TestRollupsBuiltForOldStore: a store of schema 1 (raw values only) gets
// its rollups built at open, logged, and answers like raw.
func TestRollupsBuiltForOldStore(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(21, 22))
	s := openTest(t, Options{Path: dir})
	writeRandom(t, s, r, eqT0, eqT0+3*eqDay, 10)
	want := dumpRollups(t, s)
	if _, err := s.wdb.Exec("DROP TABLE rollups; DROP TABLE store_meta; PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var logs bytes.Buffer
	s = openTest(t, Options{Path: dir, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if got := dumpRollups(t, s); !slices.Equal(got, want) {
		t.Fatalf("built %d rollup rows, want %d", len(got), len(want))
	}
	if !strings.Contains(logs.String(), "rollups built from raw values") {
		t.Errorf("the build was not logged: %q", logs.String())
	}
	checkEquivalent(t, s, r, eqT0, eqT0+3*eqDay, 20)
}

// TestPlanCoversRangeOnce: the segments of a plan are in order, adjacent,
// and cover [from, to] exactly, also at the int64 extremes.
func TestPlanCoversRangeOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ranges := [][2]int64{{0, math.MaxInt64}, {math.MinInt64, math.MaxInt64}, {-eqDay - 5, 3}}
	for range 200 {
		ranges = append(ranges, [2]int64(slices.Sorted(slices.Values([]int64{r.Int64N(9 * eqDay), r.Int64N(9 * eqDay)}))))
	}
	for _, rg := range ranges {
		next := rg[0]
		for _, sg := range plan(rg[0], rg[1], len(rollupRes)-1, nil) {
			from, to := sg.From, sg.To
			if sg.Level >= 0 {
				to = endOf(sg.To, rollupRes[sg.Level])
			}
			if from != next || to < from {
				t.Fatalf("%v: segment %+v does not start at %d", rg, sg, next)
			}
			next = to + 1
			if to == rg[1] {
				break
			}
		}
		if next-1 != rg[1] {
			t.Fatalf("%v: plan ends at %d", rg, next-1)
		}
	}
}
