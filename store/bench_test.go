package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

// benchBatch fills vals with one batch: ~200 datapoints of one device class,
// numbers mostly, timestamps advancing 1 ms per round over all datapoints.
func benchBatch(vals []model.Value, names []string, round *int64) {
	for i := range vals {
		if i%len(names) == 0 {
			*round++
		}
		vals[i] = model.Value{
			Device: "dev" + names[i%len(names)][:1], Name: names[i%len(names)],
			Value: float64(*round%1000) * 0.25, Time: 1_700_000_000_000 + *round, Quality: model.Good,
		}
	}
}

// BenchmarkIngest writes batches of 5000 values over 200 datapoints, one
// transaction each, and reports the sustained values/s.
func BenchmarkIngest(b *testing.B) {
	s := openBench(b)
	names := make([]string, 200)
	for i := range names {
		names[i] = fmt.Sprintf("%d_point_%03d", i%10, i)
	}
	vals := make([]model.Value, 5000)
	var round int64
	ctx := context.Background()
	cpu0 := cpuTime()
	for b.Loop() {
		b.StopTimer()
		benchBatch(vals, names, &round)
		b.StartTimer()
		if err := s.Write(ctx, vals); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(vals))/b.Elapsed().Seconds(), "values/s")
	// CPU time (all threads, batch generation included) per value: steadier
	// than the rate on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*len(vals)), "cpu-ns/value")
}

// BenchmarkHistory asks for the 1-minute means over a day of 1 s data.
func BenchmarkHistory(b *testing.B) {
	s := openBench(b)
	ctx := context.Background()
	const day = 86_400
	t0 := int64(1_700_000_000_000) / 86_400_000 * 86_400_000
	vals := make([]model.Value, 0, day)
	for i := range int64(day) {
		vals = append(vals, model.Value{Device: "pv", Name: "ac_power", Value: float64(i % 5000), Time: t0 + i*1000, Quality: model.Good})
	}
	if err := s.Write(ctx, vals); err != nil {
		b.Fatal(err)
	}
	q := model.HistoryQuery{Device: "pv", Name: "ac_power", From: t0, To: t0 + day*1000 - 1, Interval: time.Minute, Agg: "mean"}
	for b.Loop() {
		out, err := s.History(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) != 1440 {
			b.Fatalf("got %d buckets, want 1440", len(out))
		}
	}
	b.ReportMetric(float64(b.N*day)/b.Elapsed().Seconds(), "values/s")
}

func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), Options{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
