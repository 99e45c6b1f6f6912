package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/samples"
	"github.com/gridbox/gridbox/store/storetest"
)

// TestBenchRollups is the rollup benchmark of bench/rollups.sh, skipped
// unless GRIDBOX_BENCH_SPAN (like 365d or 30d) is set. With
// GRIDBOX_BENCH_DIR it queries the store there (filled by gridbox import
// with 1 s values of bench/p over the span from the day boundary t0, as
// bench/rollups generates them); without, it ingests those values through
// Write in batches of 50 000 itself and prints the rate. It times history
// queries from rollups and from raw values, prints them and fails when a
// rollup answer differs from the raw one.
func TestBenchRollups(t *testing.T) {
	spanArg := os.Getenv("GRIDBOX_BENCH_SPAN")
	if spanArg == "" {
		t.Skip("set GRIDBOX_BENCH_SPAN (e.g. 365d) to run the rollup benchmark")
	}
	span, err := parseAge(spanArg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := int64(1_700_006_400_000) // a day boundary
	n := span.Milliseconds() / 1000
	dir := os.Getenv("GRIDBOX_BENCH_DIR")
	if dir == "" {
		dir = t.TempDir()
		s := openTest(t, Options{Path: dir})
		took := benchIngest(t, s, t0, n)
		fmt.Printf("ingest through Store.Write: %d values over %s in %s: %.0f values/s\n",
			n, spanArg, took.Round(time.Millisecond), float64(n)/took.Seconds())
		s.Close()
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("file: %d bytes, %.1f bytes per value (raw and rollups)\n", fi.Size(), float64(fi.Size())/float64(n))
	s := openTest(t, Options{Path: dir})
	end := t0 + n*1000 // exclusive
	for _, c := range []struct {
		iv   time.Duration
		span int64
	}{{24 * time.Hour, n * 1000}, {time.Hour, min(30*eqDay, n*1000)}, {time.Minute, min(eqDay, n*1000)}} {
		for _, agg := range []string{"mean", "max", "energy"} {
			q := model.HistoryQuery{Device: "bench", Name: "p", From: end - c.span, To: end - 1, Interval: c.iv, Agg: agg}
			benchQuery(t, s, q)
		}
	}
}

// benchIngest writes n values 1 s apart from t0 and returns the time taken.
func benchIngest(t *testing.T, s *Store, t0, n int64) time.Duration {
	const batch = 50_000
	vals := make([]model.Value, batch)
	var took time.Duration
	for i := int64(0); i < n; i += batch {
		vals = vals[:min(batch, n-i)]
		for j := range vals {
			ts := t0 + (i+int64(j))*1000
			vals[j] = model.Value{Device: "bench", Name: "p", Value: float64((i + int64(j)) % 5000), Time: ts, Quality: model.Good}
		}
		start := time.Now()
		if err := s.Write(context.Background(), vals); err != nil {
			t.Fatal(err)
		}
		took += time.Since(start)
	}
	return took
}

// benchQuery prints the median of 5 runs of q from rollups, and one run
// each from raw with the Go-side ordered scan and (not for energy) with the
// old SQL GROUP BY (a year of raw values takes tens of seconds); every
// answer must equal the ordered scan's (values are whole numbers: sums are
// exact; energy agrees to rounding).
func benchQuery(t *testing.T, s *Store, q model.HistoryQuery) {
	ctx := context.Background()
	id, _ := s.ids.Get(samples.Key{Device: q.Device, Name: q.Name})
	ways := []struct {
		name string
		runs int
		run  func() ([]model.Sample, error)
	}{
		{"rollups", 5, func() ([]model.Sample, error) { return s.History(ctx, q) }},
		{"raw, ordered scan", 1, func() ([]model.Sample, error) { return s.aggregateUpTo(ctx, id, q, MaxRows+1, -1) }},
	}
	if q.Agg != samples.AggEnergy {
		ways = append(ways, struct {
			name string
			runs int
			run  func() ([]model.Sample, error)
		}{"raw, SQL GROUP BY (before)", 1, func() ([]model.Sample, error) { return s.aggregateSQL(ctx, id, q, MaxRows+1) }})
	}
	line := fmt.Sprintf("interval=%s agg=%s over %s:", config.Duration(q.Interval).D(), q.Agg, time.Duration(q.To-q.From+1)*time.Millisecond)
	var answers [][]model.Sample
	for _, w := range ways {
		var times []time.Duration
		var out []model.Sample
		for range w.runs {
			start := time.Now()
			var err error
			if out, err = w.run(); err != nil {
				t.Fatal(err)
			}
			times = append(times, time.Since(start))
		}
		answers = append(answers, out)
		slices.Sort(times)
		line += fmt.Sprintf("  %s %s (%d buckets);", w.name, times[len(times)/2].Round(10*time.Microsecond), len(out))
	}
	for i, a := range answers[1:] {
		if q.Agg == samples.AggEnergy {
			storetest.CompareEnergy(t, answers[0], a)
		} else if !slices.Equal(answers[0], a) {
			t.Errorf("%s: rollups answer differs from %s", line, ways[i+1].name)
		}
	}
	fmt.Println(line, "identical to raw")
}
