package store

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func openTest(t *testing.T, o Options) *Store {
	t.Helper()
	if o.Path == "" {
		o.Path = t.TempDir()
	}
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustWrite(t *testing.T, s *Store, vals ...model.Value) {
	t.Helper()
	if err := s.Write(context.Background(), vals); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func rawHistory(t *testing.T, s *Store, device, name string, from, to int64) []model.Sample {
	t.Helper()
	out, err := s.History(context.Background(), model.HistoryQuery{Device: device, Name: name, From: from, To: to})
	if err != nil {
		t.Fatalf("history %s/%s: %v", device, name, err)
	}
	return out
}

// countSamples reads the number of stored samples directly.
func countSamples(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.rdb.QueryRow("SELECT count(*) FROM samples").Scan(&n); err != nil {
		t.Fatalf("count samples: %v", err)
	}
	return n
}

func TestRoundTripKeepsJSONTypesAndQuality(t *testing.T) {
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
		{"int is float64", 7, model.Good, 7.0},
		{"float32", float32(0.5), model.Good, 0.5},
		{"string", "charging", model.Good, "charging"},
		{"empty string", "", model.Good, ""},
		{"numeric string", "42", model.Good, "42"},
		{"true", true, model.Good, true},
		{"false", false, model.Good, false},
		{"null", nil, model.Good, nil},
		{"stale", 3.0, model.Stale, 3.0},
		{"bad", nil, model.Bad, nil},
		{"empty quality is good", 1.0, "", 1.0},
		{"NaN reads back null", math.NaN(), model.Bad, nil},
	}
	s := openTest(t, Options{})
	for i, c := range cases {
		mustWrite(t, s, model.Value{Device: "dev", Name: "p", Value: c.in, Time: int64(1000 + i), Quality: c.q})
	}
	got := rawHistory(t, s, "dev", "p", 0, math.MaxInt64)
	if len(got) != len(cases) {
		t.Fatalf("got %d samples, want %d", len(got), len(cases))
	}
	for i, c := range cases {
		wantQ := c.q
		if wantQ == "" {
			wantQ = model.Good
		}
		want := model.Sample{Time: int64(1000 + i), Value: c.want, Quality: wantQ}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("%s: got %#v, want %#v", c.name, got[i], want)
		}
	}
}

func TestWriteSkipsUnsupportedTypeAndCountsIt(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openTest(t, Options{Metrics: reg})
	mustWrite(t, s,
		model.Value{Device: "d", Name: "ok", Value: 1.0, Time: 1, Quality: model.Good},
		model.Value{Device: "d", Name: "obj", Value: map[string]any{"a": 1}, Time: 1, Quality: model.Good})
	if n := countSamples(t, s); n != 1 {
		t.Errorf("stored %d samples, want 1", n)
	}
	if d := testutil.ToFloat64(s.met.Drops); d != 1 {
		t.Errorf("dropped = %v, want 1", d)
	}
	if w := testutil.ToFloat64(s.met.Written); w != 1 {
		t.Errorf("written = %v, want 1", w)
	}
}

func TestSameTimestampReplaces(t *testing.T) {
	s := openTest(t, Options{})
	v := func(x float64) model.Value {
		return model.Value{Device: "d", Name: "p", Value: x, Time: 5, Quality: model.Good}
	}
	other := model.Value{Device: "d", Name: "q", Value: 0.0, Time: 5, Quality: model.Good}
	mustWrite(t, s, v(1), other, v(2)) // within a batch the later value wins
	if got := rawHistory(t, s, "d", "p", 0, 10); len(got) != 1 || got[0].Value != 2.0 {
		t.Fatalf("got %v, want one sample with value 2", got)
	}
	mustWrite(t, s, v(3), v(3)) // a later batch replaces; a retried one does not duplicate
	if got := rawHistory(t, s, "d", "p", 0, 10); len(got) != 1 || got[0].Value != 3.0 {
		t.Fatalf("got %v, want one sample with value 3", got)
	}
}

func TestLastValuesNewestPerDatapointAfterReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Path: dir})
	mustWrite(t, s,
		model.Value{Device: "pv", Name: "ac_power", Value: 100.0, Time: 10, Quality: model.Good},
		model.Value{Device: "pv", Name: "ac_power", Value: 300.0, Time: 30, Quality: model.Stale},
		model.Value{Device: "meter", Name: "status", Value: "ok", Time: 5, Quality: model.Good})
	mustWrite(t, s, // older value arriving later must not win
		model.Value{Device: "pv", Name: "ac_power", Value: 200.0, Time: 20, Quality: model.Good},
		model.Value{Device: "meter", Name: "enabled", Value: true, Time: 7, Quality: model.Good},
		model.Value{Device: "meter", Name: "status", Value: nil, Time: 6, Quality: model.Bad})
	want := []model.Value{
		{Device: "meter", Name: "enabled", Value: true, Time: 7, Quality: model.Good},
		{Device: "meter", Name: "status", Value: nil, Time: 6, Quality: model.Bad},
		{Device: "pv", Name: "ac_power", Value: 300.0, Time: 30, Quality: model.Stale},
	}
	check := func(s *Store, when string) {
		got, err := s.LastValues(context.Background())
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
	s2 := openTest(t, Options{Path: dir})
	check(s2, "reopened")
}

func TestLastValuesEmptyStore(t *testing.T) {
	got, err := openTest(t, Options{}).LastValues(context.Background())
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want empty non-nil slice", got, err)
	}
}

func TestOpenCreatesDirAndMigratesIdempotently(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	for i := range 2 {
		s, err := Open(context.Background(), Options{Path: dir})
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		var v int
		var mode string
		if err := s.wdb.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if err := s.wdb.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if v != schemaVersion || mode != "wal" {
			t.Errorf("open #%d: user_version %d journal_mode %s, want %d wal", i, v, mode, schemaVersion)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("database file: %v", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Path: dir})
	if _, err := s.wdb.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(context.Background(), Options{Path: dir}); err == nil {
		t.Fatal("open of a schema from the future succeeded")
	} else if want := "schema version 99"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not mention %q", err, want)
	}
}

func TestMetricsRegisterTwiceOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := openTest(t, Options{Metrics: reg})
	b := openTest(t, Options{Metrics: reg}) // e.g. a reopened store
	mustWrite(t, a, model.Value{Device: "d", Name: "p", Value: 1.0, Time: 1})
	mustWrite(t, b, model.Value{Device: "d", Name: "p", Value: 1.0, Time: 1})
	n, err := testutil.GatherAndCount(reg, "gridbox_store_values_written_total", "gridbox_store_batch_size",
		"gridbox_store_flush_duration_seconds", "gridbox_store_write_errors_total")
	if err != nil || n != 4 {
		t.Fatalf("gathered %d metrics (%v), want 4", n, err)
	}
	if w := testutil.ToFloat64(a.met.Written); w != 2 {
		t.Errorf("written = %v, want 2 (shared counter)", w)
	}
}
