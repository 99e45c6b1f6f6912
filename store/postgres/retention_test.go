package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRetentionDeletesInBatches: raw values and rollup buckets older than
// their retention go, in several statements of at most retainBatch rows;
// newer ones stay, aggregated answers over the kept range still come from
// the rollups that remain; the size gauges follow.
func TestRetentionDeletesInBatches(t *testing.T) {
	const t0 = int64(1_700_006_400_000)
	reg := prometheus.NewRegistry()
	s := openTest(t, Options{Metrics: reg, Retention: Retention{time.Hour, 2 * time.Hour, 0, 0, 0}})
	now := time.UnixMilli(t0 + 10*3_600_000)
	var vals []model.Value
	for ts := t0; ts < now.UnixMilli(); ts += 1000 { // 10 h of 1 s values: 36 000
		vals = append(vals, model.Value{Device: "d", Name: "p", Value: 1.0, Time: ts, Quality: model.Good})
	}
	if err := s.Write(context.Background(), vals); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n, err := s.applyRetention(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	rawCut, m1Cut := now.UnixMilli()-3_600_000, now.UnixMilli()-2*3_600_000
	if want := (rawCut-t0)/1000 + (m1Cut-t0)/60_000; n != want || want <= retainBatch {
		t.Errorf("deleted %d rows, want %d (more than one batch)", n, want)
	}
	var oldRaw, oldM1 int64
	if err := s.pool.QueryRow(ctx, "SELECT min(ts) FROM samples").Scan(&oldRaw); err != nil {
		t.Fatal(err)
	}
	if err := s.pool.QueryRow(ctx, "SELECT min(b) FROM rollups WHERE res = 60000").Scan(&oldM1); err != nil {
		t.Fatal(err)
	}
	if oldRaw != rawCut || oldM1 != m1Cut {
		t.Errorf("oldest raw %d, 1m %d; want %d, %d", oldRaw, oldM1, rawCut, m1Cut)
	}
	// The hours whose raw values are gone still answer from the 1h rollups.
	got, err := s.History(ctx, model.HistoryQuery{Device: "d", Name: "p", From: t0, To: now.UnixMilli() - 1, Interval: time.Hour, Agg: "count"})
	if err != nil || len(got) != 10 || got[0].Value != 3600.0 {
		t.Errorf("1h counts after retention: %v, %v", got, err)
	}
	if err := s.updateSizeMetrics(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(s.size.oldest.WithLabelValues("1m")); got != float64(m1Cut)/1000 {
		t.Errorf("oldest 1m gauge %v, want %v", got, float64(m1Cut)/1000)
	}
	if got := testutil.ToFloat64(s.size.oldest.WithLabelValues("raw")); got != float64(rawCut)/1000 {
		t.Errorf("oldest raw gauge %v, want %v", got, float64(rawCut)/1000)
	}
	if testutil.ToFloat64(s.size.bytes.WithLabelValues("samples")) <= 0 {
		t.Error("samples size gauge not set")
	}
}
