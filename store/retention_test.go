package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRetentionConfig: forever, d/w/y units and Go durations parse; bad or
// non-positive ages are errors on retention.<resolution>.
func TestRetentionConfig(t *testing.T) {
	c := RetentionConfig{Raw: "30d", M1: "1y", M15: "2w", H1: "36h", D1: Forever}
	got, errs := c.Parse()
	day := 24 * time.Hour
	if want := (Retention{30 * day, 365 * day, 14 * day, 36 * time.Hour, 0}); got != want || errs != nil {
		t.Fatalf("got %v %v, want %v", got, errs, want)
	}
	if r, errs := DefaultRetention().Parse(); r != (Retention{}) || errs != nil {
		t.Fatalf("default: %v %v, want all forever", r, errs)
	}
	bad := RetentionConfig{Raw: "", M1: "0d", M15: "-1h", H1: "soon", D1: "1.5y"}
	_, errs = bad.Parse()
	var paths []string
	for _, e := range errs {
		paths = append(paths, e.Error())
	}
	joined := strings.Join(paths, "\n")
	for _, key := range []string{"retention.raw", "retention.1m", "retention.15m", "retention.1h", "retention.1d"} {
		if !strings.Contains(joined, key+":") {
			t.Errorf("no error on %s in:\n%s", key, joined)
		}
	}
	cfg := Kind().NewConfig().(*Config)
	cfg.Retention.Raw = "forever-ish"
	if errs := cfg.Validate(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "retention.raw") {
		t.Errorf("Validate: %v, want one error on retention.raw", errs)
	}
}

// TestRetentionDeletesInBatches: raw values and rollup buckets older than
// their retention go, in several transactions of at most retainBatch rows;
// newer ones stay; the size gauges follow.
func TestRetentionDeletesInBatches(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openTest(t, Options{Metrics: reg, Retention: Retention{time.Hour, 2 * time.Hour, 0, 0, 0}})
	now := time.UnixMilli(eqT0 + 10*3_600_000)
	var vals []model.Value
	for ts := eqT0; ts < now.UnixMilli(); ts += 1000 { // 10 h of 1 s values: 36 000
		vals = append(vals, model.Value{Device: "d", Name: "p", Value: 1.0, Time: ts, Quality: model.Good})
	}
	mustWrite(t, s, vals...)
	n, err := s.applyRetention(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	rawCut, m1Cut := now.UnixMilli()-3_600_000, now.UnixMilli()-2*3_600_000
	if want := int64((rawCut-eqT0)/1000 + (m1Cut-eqT0)/60_000); n != want {
		t.Errorf("deleted %d rows, want %d", n, want)
	}
	var oldRaw, oldM1 int64
	s.rdb.QueryRow("SELECT min(ts) FROM samples").Scan(&oldRaw)
	s.rdb.QueryRow("SELECT min(b) FROM rollups WHERE res = 60000").Scan(&oldM1)
	if oldRaw != rawCut || oldM1 != m1Cut {
		t.Errorf("oldest raw %d, 1m %d; want %d, %d", oldRaw, oldM1, rawCut, m1Cut)
	}
	if err := s.updateSizeMetrics(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(s.met.rows.WithLabelValues("raw")); got != 3600 {
		t.Errorf("raw rows gauge %v, want 3600", got)
	}
	if got := testutil.ToFloat64(s.met.oldest.WithLabelValues("1m")); got != float64(m1Cut)/1000 {
		t.Errorf("oldest 1m gauge %v, want %v", got, float64(m1Cut)/1000)
	}
	if got := testutil.ToFloat64(s.met.rows.WithLabelValues("1h")); got != 10 {
		t.Errorf("1h rows gauge %v, want 10", got)
	}
	if testutil.ToFloat64(s.met.fileSize) <= 0 {
		t.Error("file size gauge not set")
	}
}
