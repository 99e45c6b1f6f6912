package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

// benchBatch fills vals with one batch like the SQLite store's
// BenchmarkIngest: ~200 datapoints, numbers, timestamps advancing 1 ms per
// round over all datapoints.
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

func benchNames() []string {
	names := make([]string, 200)
	for i := range names {
		names[i] = fmt.Sprintf("%d_point_%03d", i%10, i)
	}
	return names
}

// BenchmarkIngest writes batches of 5000 values over 200 datapoints, one
// transaction with one COPY each, and reports the sustained values/s —
// the figure to set beside store's BenchmarkIngest (SQLite).
func BenchmarkIngest(b *testing.B) {
	s := openTest(b, Options{})
	names := benchNames()
	vals := make([]model.Value, 5000)
	var round int64
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		benchBatch(vals, names, &round)
		b.StartTimer()
		if err := s.Write(ctx, vals); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(vals))/b.Elapsed().Seconds(), "values/s")
}

// BenchmarkIngestReplace writes every batch twice: the second write hits
// stored keys and goes through the temporary table and ON CONFLICT (a
// retried batch). Reported values/s count both writes.
func BenchmarkIngestReplace(b *testing.B) {
	s := openTest(b, Options{})
	names := benchNames()
	vals := make([]model.Value, 5000)
	var round int64
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		benchBatch(vals, names, &round)
		if err := s.Write(ctx, vals); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.Write(ctx, vals); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(vals))/b.Elapsed().Seconds(), "values/s")
}

// BenchmarkHistory asks for the 1-minute means over a day of 1 s data, as
// store's BenchmarkHistory does.
func BenchmarkHistory(b *testing.B) {
	s := openTest(b, Options{})
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
	if _, err := s.pool.Exec(ctx, "ANALYZE samples"); err != nil {
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
