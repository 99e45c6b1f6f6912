// Package storetest is the contract every gridbox history store keeps: the
// embedded SQLite store (package store) and the PostgreSQL store (package
// store/postgres) run the same suite, so that they give the same answers to
// every history query — raw values, every aggregation at several intervals,
// limits, errors — and restore the same last values.
//
// It imports neither store, so both can run it from their own tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// MaxRows is the cap of one history answer that every store shares
// (store.MaxRows, postgres.MaxRows).
const MaxRows = 100_000

// Store is what a history store offers: ingest from the bus (Run) or
// directly (Write), history, last values, Close.
type Store interface {
	Write(ctx context.Context, vals []model.Value) error
	Run(ctx context.Context, sub *bus.Subscription) error
	History(ctx context.Context, q model.HistoryQuery) ([]model.Sample, error)
	LastValues(ctx context.Context) ([]model.Value, error)
	model.AuditLog
	Close() error
}

// Run runs the contract suite. open(t) must return a store on empty storage
// of its own for every test t, and — called again with the same t after the
// first store was closed — a store on that same storage (a reopen). Stores
// it returns should be closed at the test's cleanup; the suite may close
// them earlier, so Close must be safe to call twice. Reopenable builds such
// an open function.
func Run(t *testing.T, open func(t *testing.T) Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) Store)
	}{
		{"RoundTripKeepsJSONTypesAndQuality", testRoundTrip},
		{"UnsupportedTypeSkipped", testUnsupportedType},
		{"SameTimestampReplaces", testSameTimestamp},
		{"RawOrderBoundsAndLimit", testRaw},
		{"AggregatesMatchGo", testAggregates},
		{"AggregatesOnlyGoodNumbers", testAggregatesSkip},
		{"RollupsLateValuesReopenMatchGo", testRollups},
		{"UnknownDatapointIsErrNoHistory", testNoHistory},
		{"BadQueryNamesField", testBadQuery},
		{"TooManyRowsNeedsLimit", testTooMany},
		{"LastValuesAfterReopen", testLastValues},
		{"LastValuesEmpty", testLastValuesEmpty},
		{"RunIngestsFromBus", testRun},
		{"AuditRecordsSurviveReopen", testAudit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open)
		})
	}
}

// Reopenable makes an open function for Run: newStorage(t) creates empty
// storage for test t (a directory, a database schema) and returns its
// address; openOn opens a store on that address. A second open with the
// same t reuses the storage.
func Reopenable(newStorage func(t *testing.T) string, openOn func(t *testing.T, addr string) Store) func(t *testing.T) Store {
	var mu sync.Mutex
	addrs := map[*testing.T]string{}
	return func(t *testing.T) Store {
		t.Helper()
		mu.Lock()
		addr, ok := addrs[t]
		mu.Unlock()
		if !ok {
			addr = newStorage(t)
			mu.Lock()
			addrs[t] = addr
			mu.Unlock()
			t.Cleanup(func() { mu.Lock(); delete(addrs, t); mu.Unlock() })
		}
		return openOn(t, addr)
	}
}

var ctx = context.Background()

func mustWrite(t *testing.T, s Store, vals ...model.Value) {
	t.Helper()
	if err := s.Write(ctx, vals); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func history(t *testing.T, s Store, q model.HistoryQuery) []model.Sample {
	t.Helper()
	out, err := s.History(ctx, q)
	if err != nil {
		t.Fatalf("history %+v: %v", q, err)
	}
	if out == nil {
		t.Fatalf("history %+v: nil answer, want a non-nil slice", q)
	}
	return out
}

func testRoundTrip(t *testing.T, open func(t *testing.T) Store) {
	cases := []struct {
		name string
		in   any
		q    model.Quality
		want any
	}{
		{"float", 21.5, model.Good, 21.5},
		{"negative", -1234.125, model.Good, -1234.125},
		{"zero", 0.0, model.Good, 0.0},
		{"huge", 1e300, model.Good, 1e300},
		{"tiny", 5e-324, model.Good, 5e-324},
		{"int is float64", 7, model.Good, 7.0},
		{"int64", int64(-1 << 40), model.Good, float64(-1 << 40)},
		{"uint32", uint32(4_000_000_000), model.Good, 4e9},
		{"float32", float32(0.5), model.Good, 0.5},
		{"string", "charging", model.Good, "charging"},
		{"empty string", "", model.Good, ""},
		{"numeric string", "42", model.Good, "42"},
		{"unicode string", "Wärmepumpe ⚡ 'quoted' \"double\" \\ \t\n", model.Good, "Wärmepumpe ⚡ 'quoted' \"double\" \\ \t\n"},
		{"true", true, model.Good, true},
		{"false", false, model.Good, false},
		{"null", nil, model.Good, nil},
		{"stale", 3.0, model.Stale, 3.0},
		{"stale string", "old", model.Stale, "old"},
		{"bad", nil, model.Bad, nil},
		{"bad bool", true, model.Bad, true},
		{"empty quality is good", 1.0, "", 1.0},
		{"NaN reads back null", math.NaN(), model.Bad, nil},
	}
	s := open(t)
	for i, c := range cases {
		mustWrite(t, s, model.Value{Device: "dev", Name: "p", Value: c.in, Time: int64(1000 + i), Quality: c.q})
	}
	// and once more in one batch, on another datapoint
	var batch []model.Value
	for i, c := range cases {
		batch = append(batch, model.Value{Device: "dev", Name: "batch", Value: c.in, Time: int64(1000 + i), Quality: c.q})
	}
	mustWrite(t, s, batch...)
	for _, name := range []string{"p", "batch"} {
		got := history(t, s, model.HistoryQuery{Device: "dev", Name: name, From: 0, To: math.MaxInt64})
		if len(got) != len(cases) {
			t.Fatalf("%s: got %d samples, want %d", name, len(got), len(cases))
		}
		for i, c := range cases {
			wantQ := c.q
			if wantQ == "" {
				wantQ = model.Good
			}
			want := model.Sample{Time: int64(1000 + i), Value: c.want, Quality: wantQ}
			if !reflect.DeepEqual(got[i], want) {
				t.Errorf("%s/%s: got %#v, want %#v", name, c.name, got[i], want)
			}
		}
	}
}

func testUnsupportedType(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	mustWrite(t, s,
		model.Value{Device: "d", Name: "ok", Value: 1.0, Time: 1, Quality: model.Good},
		model.Value{Device: "d", Name: "obj", Value: map[string]any{"a": 1}, Time: 1, Quality: model.Good},
		model.Value{Device: "d", Name: "ok", Value: []int{1}, Time: 2, Quality: model.Good})
	if got := history(t, s, model.HistoryQuery{Device: "d", Name: "ok", To: 10}); len(got) != 1 || got[0].Value != 1.0 {
		t.Errorf("got %v, want the one supported value", got)
	}
	if _, err := s.History(ctx, model.HistoryQuery{Device: "d", Name: "obj", To: 10}); !errors.Is(err, model.ErrNoHistory) {
		t.Errorf("datapoint with only an unsupported value: got %v, want ErrNoHistory", err)
	}
	// a batch of nothing but unsupported values is no error either
	if err := s.Write(ctx, []model.Value{{Device: "d", Name: "obj", Value: struct{}{}, Time: 3}}); err != nil {
		t.Errorf("write of only unsupported values: %v", err)
	}
	if err := s.Write(ctx, nil); err != nil {
		t.Errorf("empty write: %v", err)
	}
}

func testSameTimestamp(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	v := func(x any, q model.Quality) model.Value {
		return model.Value{Device: "d", Name: "p", Value: x, Time: 5, Quality: q}
	}
	other := model.Value{Device: "d", Name: "q", Value: 0.0, Time: 5, Quality: model.Good}
	mustWrite(t, s, v(1.0, model.Good), other, v(2.0, model.Good)) // within a batch the later value wins
	if got := history(t, s, model.HistoryQuery{Device: "d", Name: "p", To: 10}); len(got) != 1 || got[0].Value != 2.0 {
		t.Fatalf("got %v, want one sample with value 2", got)
	}
	mustWrite(t, s, v(3.0, model.Good), v(3.0, model.Good)) // a later batch replaces; a retried one does not duplicate
	if got := history(t, s, model.HistoryQuery{Device: "d", Name: "p", To: 10}); len(got) != 1 || got[0].Value != 3.0 {
		t.Fatalf("got %v, want one sample with value 3", got)
	}
	// a replacement of another type and quality, mixed with new values
	mustWrite(t, s, model.Value{Device: "d", Name: "p", Value: 9.0, Time: 6, Quality: model.Good}, v("text", model.Stale))
	want := []model.Sample{{Time: 5, Value: "text", Quality: model.Stale}, {Time: 6, Value: 9.0, Quality: model.Good}}
	if got := history(t, s, model.HistoryQuery{Device: "d", Name: "p", To: 10}); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := history(t, s, model.HistoryQuery{Device: "d", Name: "q", To: 10}); len(got) != 1 || got[0].Value != 0.0 {
		t.Fatalf("other datapoint: got %v", got)
	}
}

func testRaw(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	var vals []model.Value
	for i := int64(9); i >= 0; i-- { // written newest first
		vals = append(vals, model.Value{Device: "d", Name: "p", Value: float64(i), Time: 100 + i*10, Quality: model.Good})
	}
	vals = append(vals, model.Value{Device: "d", Name: "other", Value: 1.0, Time: 120, Quality: model.Good})
	mustWrite(t, s, vals...)
	mustWrite(t, s, model.Value{Device: "d", Name: "neg", Value: 1.0, Time: -5000, Quality: model.Good})
	cases := []struct {
		name           string
		from, to       int64
		limit          int
		wantFirst, len int
	}{
		{"all", 0, 1000, 0, 0, 10},
		{"whole int64 range", math.MinInt64, math.MaxInt64, 0, 0, 10},
		{"inclusive bounds", 120, 150, 0, 2, 4},
		{"single ms", 130, 130, 0, 3, 1},
		{"limit keeps earliest", 0, 1000, 3, 0, 3},
		{"limit inside a range", 125, 1000, 2, 3, 2},
		{"limit above count", 0, 1000, 50, 0, 10},
		{"limit at max", 0, 1000, MaxRows, 0, 10},
		{"empty range", 101, 109, 0, 0, 0},
		{"empty range with limit", 101, 109, 5, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := history(t, s, model.HistoryQuery{Device: "d", Name: "p", From: c.from, To: c.to, Limit: c.limit})
			if len(got) != c.len {
				t.Fatalf("got %d samples, want %d", len(got), c.len)
			}
			for i, smp := range got {
				if want := float64(c.wantFirst + i); smp.Value != want || smp.Time != 100+int64(want)*10 || smp.Quality != model.Good {
					t.Errorf("sample %d = %+v, want value %v", i, smp, want)
				}
			}
		})
	}
	if got := history(t, s, model.HistoryQuery{Device: "d", Name: "neg", From: -10_000, To: 0}); len(got) != 1 || got[0].Time != -5000 {
		t.Errorf("negative timestamp: got %v", got)
	}
}

// genHistory makes seeded random values for pv/p over several one-minute
// buckets from t0: negative and positive numbers, values exactly on bucket
// starts and ends, an empty bucket, and stale, bad, null, string and bool
// values that aggregation must skip.
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
		for range r.IntN(30) {
			ts := start + r.Int64N(60_000)
			switch k := r.IntN(14); {
			case k == 0:
				add(ts, r.Float64()*1e6, model.Stale)
			case k == 1:
				add(ts, -r.Float64()*1e6, model.Bad)
			case k == 2:
				add(ts, nil, model.Good)
			case k == 3:
				add(ts, "123", model.Good)
			case k == 4:
				add(ts, r.IntN(2) == 0, model.Good)
			case k == 5:
				add(ts, math.NaN(), model.Good)
			case k == 6:
				add(ts, r.IntN(1000), "") // an int, quality empty: counts as a good number
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
		f, ok := model.AsFloat(v.Value)
		if _, isBool := v.Value.(bool); !ok || isBool || math.IsNaN(f) || (v.Quality != model.Good && v.Quality != "") || v.Time < from || v.Time > to {
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
	out := []model.Sample{}
	for b, a := range m {
		x := map[string]float64{"mean": a.sum / a.n, "min": a.min, "max": a.max, "sum": a.sum,
			"count": a.n, "first": a.first, "last": a.last}[agg]
		out = append(out, model.Sample{Time: b, Value: x, Quality: model.Good})
	}
	slices.SortFunc(out, func(a, b model.Sample) int {
		if a.Time < b.Time {
			return -1
		}
		if a.Time > b.Time {
			return 1
		}
		return 0
	})
	return out
}

// compareSamples compares aggregated answers; sums and means may differ
// in the last bits between databases (summation order).
func compareSamples(t *testing.T, got, want []model.Sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d samples, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		gf, ok := g.Value.(float64)
		wf := w.Value.(float64)
		if !ok || g.Time != w.Time || g.Quality != w.Quality || math.Abs(gf-wf) > 1e-9*max(1, math.Abs(wf)) {
			t.Errorf("sample %d: got %+v, want %+v", i, g, w)
		}
	}
}

func testAggregates(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	t0 := int64(1_700_000_040_000) // a multiple of 60 000
	vals := genHistory(42, t0, 8)
	neg := genHistory(7, -180_000, 6) // before 1970: buckets floor, not truncate
	for i := range neg {
		neg[i].Name = "neg"
	}
	mustWrite(t, s, vals[:len(vals)/2]...)
	mustWrite(t, s, vals[len(vals)/2:]...)
	mustWrite(t, s, neg...)
	ranges := []struct {
		name     string
		dp       string
		vals     []model.Value
		from, to int64
		iv       time.Duration
	}{
		{"whole range 1m", "p", vals, t0, t0 + 8*60_000, time.Minute},
		{"cut mid-bucket", "p", vals, t0 + 30_000, t0 + 5*60_000 + 15_000, time.Minute},
		{"to on a boundary", "p", vals, t0, t0 + 2*60_000, time.Minute},
		{"from one ms before a boundary", "p", vals, t0 + 60_000 - 1, t0 + 4*60_000 + 1, time.Minute},
		{"7s buckets, not aligned to minutes", "p", vals, t0 + 3_333, t0 + 8*60_000 - 4_444, 7 * time.Second},
		{"13ms buckets", "p", vals, t0 + 1, t0 + 3*60_000 + 17, 13 * time.Millisecond},
		{"1ms buckets", "p", vals, t0, t0 + 2*60_000, time.Millisecond},
		{"15m buckets", "p", vals, t0 - 7, t0 + 8*60_000 + 7, 15 * time.Minute},
		{"one bucket over all", "p", vals, 0, math.MaxInt64, 1000 * time.Hour},
		{"negative timestamps 1m", "neg", neg, -180_000, 300_000, time.Minute},
		{"negative timestamps 7s unaligned", "neg", neg, -179_999, 123_456, 7 * time.Second},
		{"negative timestamps one day", "neg", neg, math.MinInt64, math.MaxInt64, 24 * time.Hour},
	}
	for _, rg := range ranges {
		for _, agg := range model.Aggs() {
			t.Run(rg.name+"/"+agg, func(t *testing.T) {
				q := model.HistoryQuery{Device: "pv", Name: rg.dp, From: rg.from, To: rg.to, Interval: rg.iv, Agg: agg}
				want, compare := expectAgg(rg.vals, rg.from, rg.to, rg.iv.Milliseconds(), agg), compareSamples
				if agg == "energy" {
					want, compare = ExpectEnergy(rg.vals, rg.from, rg.to, rg.iv.Milliseconds()), CompareEnergy
				}
				if len(want) > MaxRows { // energy in 1 ms buckets: every ms between two values has a sample
					var qe *model.QueryError
					if _, err := s.History(context.Background(), q); !errors.As(err, &qe) || qe.Field != "limit" {
						t.Fatalf("%d buckets: got %v, want a QueryError on limit", len(want), err)
					}
					q.Limit = 2
					compare(t, history(t, s, q), want[:2])
					return
				}
				got := history(t, s, q)
				if len(want) == 0 {
					t.Fatal("test data gives no buckets")
				}
				compare(t, got, want)
				// a limit keeps the earliest buckets
				q.Limit = 2
				compare(t, history(t, s, q), want[:min(2, len(want))])
			})
		}
	}
	t.Run("empty range", func(t *testing.T) {
		got := history(t, s, model.HistoryQuery{Device: "pv", Name: "p", From: t0 + 3*60_000 + 1, To: t0 + 4*60_000 - 2, Interval: time.Minute, Agg: "mean"})
		if len(got) != 0 {
			t.Errorf("got %v, want no buckets", got)
		}
	})
}

// testAggregatesSkip: a datapoint holding only values that are not good
// numbers has no buckets at all, while its raw history has every value.
func testAggregatesSkip(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	vals := []model.Value{
		{Device: "d", Name: "x", Value: 5.0, Time: 1000, Quality: model.Stale},
		{Device: "d", Name: "x", Value: 6.0, Time: 1001, Quality: model.Bad},
		{Device: "d", Name: "x", Value: nil, Time: 1002, Quality: model.Good},
		{Device: "d", Name: "x", Value: "7", Time: 1003, Quality: model.Good},
		{Device: "d", Name: "x", Value: true, Time: 1004, Quality: model.Good},
		{Device: "d", Name: "x", Value: false, Time: 1005, Quality: model.Good},
		{Device: "d", Name: "x", Value: math.NaN(), Time: 1006, Quality: model.Good},
	}
	mustWrite(t, s, vals...)
	for _, agg := range model.Aggs() {
		if got := history(t, s, model.HistoryQuery{Device: "d", Name: "x", To: 10_000, Interval: time.Second, Agg: agg}); len(got) != 0 {
			t.Errorf("%s: got %v, want no buckets", agg, got)
		}
	}
	if got := history(t, s, model.HistoryQuery{Device: "d", Name: "x", To: 10_000}); len(got) != len(vals) {
		t.Errorf("raw: got %d samples, want %d", len(got), len(vals))
	}
	// one good number among them: every agg sees exactly it
	mustWrite(t, s, model.Value{Device: "d", Name: "x", Value: 2.5, Time: 1500, Quality: model.Good})
	for agg, want := range map[string]float64{"mean": 2.5, "min": 2.5, "max": 2.5, "sum": 2.5, "count": 1, "first": 2.5, "last": 2.5, "energy": 0} {
		got := history(t, s, model.HistoryQuery{Device: "d", Name: "x", To: 10_000, Interval: time.Second, Agg: agg})
		if w := []model.Sample{{Time: 1000, Value: want, Quality: model.Good}}; !reflect.DeepEqual(got, w) {
			t.Errorf("%s: got %v, want %v", agg, got, w)
		}
	}
}

func testNoHistory(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	mustWrite(t, s, model.Value{Device: "d", Name: "p", Value: 1.0, Time: 1})
	for _, q := range []model.HistoryQuery{
		{Device: "d", Name: "nope", To: 10},
		{Device: "x", Name: "p", To: 10, Interval: time.Second, Agg: "mean"},
		{Device: "D", Name: "P", To: 10}, // names are case-sensitive
	} {
		got, err := s.History(ctx, q)
		if !errors.Is(err, model.ErrNoHistory) || len(got) != 0 {
			t.Errorf("%+v: got %v, %v; want ErrNoHistory", q, got, err)
		}
	}
	// a known datapoint with nothing in range is an empty answer, not an error
	if got := history(t, s, model.HistoryQuery{Device: "d", Name: "p", From: 5, To: 10}); len(got) != 0 {
		t.Errorf("got %v, want empty", got)
	}
	// the first value makes the datapoint known
	mustWrite(t, s, model.Value{Device: "d", Name: "nope", Value: 2.0, Time: 3})
	if got := history(t, s, model.HistoryQuery{Device: "d", Name: "nope", To: 10}); len(got) != 1 {
		t.Errorf("after the first value: got %v", got)
	}
}

func testBadQuery(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	mustWrite(t, s, model.Value{Device: "d", Name: "p", Value: 1.0, Time: 1})
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
		{"limit above max, aggregated", model.HistoryQuery{To: 5, Interval: time.Second, Agg: "max", Limit: MaxRows + 1}, "limit"},
	}
	for _, c := range cases {
		for _, dev := range []string{"d", "unknown"} { // checked before the datapoint is looked up
			t.Run(c.name+"/"+dev, func(t *testing.T) {
				c.q.Device, c.q.Name = dev, "p"
				_, err := s.History(ctx, c.q)
				var qe *model.QueryError
				if !errors.As(err, &qe) {
					t.Fatalf("got %v, want a *model.QueryError", err)
				}
				if qe.Field != c.field {
					t.Errorf("field %q (%v), want %q", qe.Field, err, c.field)
				}
			})
		}
	}
}

func testTooMany(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	vals := make([]model.Value, MaxRows+1)
	for i := range vals {
		vals[i] = model.Value{Device: "d", Name: "p", Value: float64(i), Time: int64(i), Quality: model.Good}
	}
	mustWrite(t, s, vals...)
	check := func(q model.HistoryQuery, wantLen int) {
		t.Helper()
		got, err := s.History(ctx, q)
		if wantLen < 0 {
			var qe *model.QueryError
			if !errors.As(err, &qe) || qe.Field != "limit" {
				t.Fatalf("%+v: got %d samples, %v; want a QueryError on limit", q, len(got), err)
			}
			return
		}
		if err != nil || len(got) != wantLen {
			t.Fatalf("%+v: got %d samples, %v; want %d", q, len(got), err, wantLen)
		}
		step := max(1, q.Interval.Milliseconds())
		if got[0].Time != q.From || got[len(got)-1].Time != q.From+int64(wantLen-1)*step {
			t.Fatalf("%+v: answer spans %d..%d", q, got[0].Time, got[len(got)-1].Time)
		}
	}
	check(model.HistoryQuery{Device: "d", Name: "p", From: 0, To: MaxRows}, -1)
	check(model.HistoryQuery{Device: "d", Name: "p", From: 0, To: MaxRows - 1}, MaxRows) // exactly MaxRows is fine
	check(model.HistoryQuery{Device: "d", Name: "p", From: 0, To: MaxRows, Limit: MaxRows}, MaxRows)
	check(model.HistoryQuery{Device: "d", Name: "p", From: 1, To: MaxRows}, MaxRows)
	// the same cap counts buckets
	check(model.HistoryQuery{Device: "d", Name: "p", From: 0, To: MaxRows, Interval: time.Millisecond, Agg: "count"}, -1)
	check(model.HistoryQuery{Device: "d", Name: "p", From: 0, To: MaxRows, Interval: time.Millisecond, Agg: "count", Limit: 10}, 10)
	check(model.HistoryQuery{Device: "d", Name: "p", From: 0, To: MaxRows, Interval: 2 * time.Millisecond, Agg: "count"}, MaxRows/2+1)
}

func testLastValues(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	mustWrite(t, s,
		model.Value{Device: "pv", Name: "ac_power", Value: 100.0, Time: 10, Quality: model.Good},
		model.Value{Device: "pv", Name: "ac_power", Value: 300.0, Time: 30, Quality: model.Stale},
		model.Value{Device: "meter", Name: "status", Value: "ok", Time: 5, Quality: model.Good},
		model.Value{Device: "meter", Name: "a_b", Value: 1.0, Time: 5, Quality: model.Good},
		model.Value{Device: "meter", Name: "ab", Value: 2.0, Time: 5, Quality: model.Good},
		model.Value{Device: "Meter", Name: "Z", Value: 3.0, Time: 5, Quality: model.Good},
		model.Value{Device: "meter", Name: "neg", Value: 4.0, Time: -5, Quality: model.Good})
	mustWrite(t, s, // an older value arriving later must not win
		model.Value{Device: "pv", Name: "ac_power", Value: 200.0, Time: 20, Quality: model.Good},
		model.Value{Device: "meter", Name: "enabled", Value: true, Time: 7, Quality: model.Good},
		model.Value{Device: "meter", Name: "status", Value: nil, Time: 6, Quality: model.Bad},
		model.Value{Device: "meter", Name: "neg", Value: 5.0, Time: -9, Quality: model.Good})
	// sorted by device, then name, byte by byte
	want := []model.Value{
		{Device: "Meter", Name: "Z", Value: 3.0, Time: 5, Quality: model.Good},
		{Device: "meter", Name: "a_b", Value: 1.0, Time: 5, Quality: model.Good},
		{Device: "meter", Name: "ab", Value: 2.0, Time: 5, Quality: model.Good},
		{Device: "meter", Name: "enabled", Value: true, Time: 7, Quality: model.Good},
		{Device: "meter", Name: "neg", Value: 4.0, Time: -5, Quality: model.Good},
		{Device: "meter", Name: "status", Value: nil, Time: 6, Quality: model.Bad},
		{Device: "pv", Name: "ac_power", Value: 300.0, Time: 30, Quality: model.Stale},
	}
	check := func(s Store, when string) {
		t.Helper()
		got, err := s.LastValues(ctx)
		if err != nil {
			t.Fatalf("%s: last values: %v", when, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v\nwant %v", when, got, want)
		}
	}
	check(s, "open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t)
	check(s2, "reopened")
	// history is there after the reopen, and ids of known datapoints are reused
	mustWrite(t, s2, model.Value{Device: "pv", Name: "ac_power", Value: 400.0, Time: 40, Quality: model.Good})
	if got := history(t, s2, model.HistoryQuery{Device: "pv", Name: "ac_power", To: 100}); len(got) != 4 || got[3].Value != 400.0 {
		t.Errorf("history after reopen: got %v", got)
	}
	if got := history(t, s2, model.HistoryQuery{Device: "meter", Name: "enabled", To: 100}); len(got) != 1 || got[0].Value != true {
		t.Errorf("history after reopen: got %v", got)
	}
}

func testLastValuesEmpty(t *testing.T, open func(t *testing.T) Store) {
	got, err := open(t).LastValues(ctx)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want empty non-nil slice", got, err)
	}
}

// testRun ingests through Run from a bus subscription: values arrive in
// history while Run runs (flush by time), and what is queued when the
// context is cancelled is written before Run returns.
func testRun(t *testing.T, open func(t *testing.T) Store) {
	s := open(t)
	b := bus.New()
	pts := make([]model.Datapoint, 10)
	for i := range pts {
		pts[i] = model.Datapoint{Name: fmt.Sprintf("p%d", i), Meta: model.Meta{Kind: model.Sensor, Format: model.GenericNumeric}}
	}
	if err := b.AddDevice(model.DeviceState{Device: "dev", Driver: "test"}, pts, nil, 0); err != nil {
		t.Fatal(err)
	}
	sub := b.Subscribe("store", bus.Options{Size: 20_000})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx, sub) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	count := func() int {
		n := 0
		for i := range pts {
			got, err := s.History(ctx, model.HistoryQuery{Device: "dev", Name: pts[i].Name, To: math.MaxInt64})
			if err == nil {
				n += len(got)
			}
		}
		return n
	}
	publish := func(t0 int64, n int) {
		for i := range n {
			b.Publish(model.Value{Device: "dev", Name: pts[i%10].Name, Value: float64(i), Time: t0 + int64(i), Quality: model.Good})
		}
	}
	publish(1000, 25)
	deadline := time.Now().Add(30 * time.Second)
	for count() < 25 {
		if time.Now().After(deadline) {
			t.Fatalf("flushed by time: %d of 25 values stored", count())
		}
		time.Sleep(10 * time.Millisecond)
	}
	publish(100_000, 12_000)
	stop()
	if n := count(); n != 12_025 {
		t.Fatalf("after cancel: %d values stored, want 12025", n)
	}
	got := history(t, s, model.HistoryQuery{Device: "dev", Name: "p3", From: 100_000, To: math.MaxInt64, Interval: time.Hour, Agg: "count"})
	if len(got) != 1 || got[0].Value != 1200.0 {
		t.Fatalf("count of p3: %v", got)
	}
}
