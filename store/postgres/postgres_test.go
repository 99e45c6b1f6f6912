package postgres

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func openTest(t testing.TB, o Options) *Store {
	t.Helper()
	if o.URL == "" {
		o.URL = storetest.PostgresSchema(t)
	}
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestContract runs the history contract shared with the SQLite store.
func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Reopenable(
		func(t *testing.T) string { return storetest.PostgresSchema(t) },
		func(t *testing.T, u string) storetest.Store { return openTest(t, Options{URL: u}) }))
}

func TestOpenLogsTablesAndIsIdempotent(t *testing.T) {
	u := storetest.PostgresSchema(t)
	var logs testenv.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s := openTest(t, Options{URL: u, Log: log})
	if s.Timescale() {
		if !strings.Contains(logs.String(), "hypertable") {
			t.Errorf("log does not say hypertable: %s", logs.String())
		}
	} else if !strings.Contains(logs.String(), "plain tables") {
		t.Errorf("log does not say plain tables: %s", logs.String())
	}
	t.Logf("TimescaleDB: %v", s.Timescale())
	s.Close()
	s2 := openTest(t, Options{URL: u}) // migrations run again without harm
	var v int
	if err := s2.pool.QueryRow(context.Background(), "SELECT version FROM gridbox_schema").Scan(&v); err != nil || v != schemaVersion {
		t.Fatalf("schema version %d, %v", v, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	u := storetest.PostgresSchema(t)
	s := openTest(t, Options{URL: u})
	if _, err := s.pool.Exec(context.Background(), "UPDATE gridbox_schema SET version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), Options{URL: u})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("got %v, want a refusal of schema 99", err)
	}
}

func TestOpenUnreachableFailsWithoutPassword(t *testing.T) {
	u := "postgres://gridbox:s3cret@" + testenv.FreeAddr(t) + "/db?sslmode=disable&connect_timeout=2"
	_, err := Open(context.Background(), Options{URL: u})
	if err == nil {
		t.Fatal("open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestCheckURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"postgres://user:pass@host:5432/db?sslmode=disable": true,
		"postgresql://host/db":                              true,
		"postgres://host/db?sslmode=verify-full":            true,
		"mysql://host/db":                                   false,
		"postgres://host/db?sslmode=sometimes":              false,
		"host=localhost dbname=x":                           false,
		"://":                                               false,
	} {
		err := CheckURL(u)
		if (err == nil) != ok {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", u, err, ok)
		}
		if err != nil && strings.Contains(err.Error(), "pass") {
			t.Errorf("CheckURL(%q) shows the password: %v", u, err)
		}
	}
	if got := Redacted("postgres://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Errorf("Redacted: %s", got)
	}
}

// TestTextPostgresRefuses: NUL bytes and invalid UTF-8, which a text
// column refuses, are replaced instead of failing the whole batch.
func TestTextPostgresRefuses(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	err := s.Write(ctx, []model.Value{
		{Device: "d", Name: "s", Value: "a\x00b", Time: 1, Quality: model.Good},
		{Device: "d", Name: "s", Value: "c\xffd", Time: 2, Quality: model.Good},
		{Device: "d", Name: "n", Value: 1.0, Time: 1, Quality: model.Good},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.History(ctx, model.HistoryQuery{Device: "d", Name: "s", To: 10})
	if err != nil || len(got) != 2 || got[0].Value != "a\uFFFDb" || got[1].Value != "c\uFFFDd" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestMetricsCountWritesAndDrops(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openTest(t, Options{Metrics: reg})
	err := s.Write(context.Background(), []model.Value{
		{Device: "d", Name: "ok", Value: 1.0, Time: 1, Quality: model.Good},
		{Device: "d", Name: "obj", Value: map[string]any{"a": 1}, Time: 1, Quality: model.Good},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := testutil.ToFloat64(s.met.Drops); d != 1 {
		t.Errorf("dropped = %v, want 1", d)
	}
	if w := testutil.ToFloat64(s.met.Written); w != 1 {
		t.Errorf("written = %v, want 1", w)
	}
	// a second store on the same registry shares the collectors
	s2 := openTest(t, Options{Metrics: reg})
	if s2.met.Written != s.met.Written {
		t.Error("second store registered its own collectors")
	}
}

// TestSharedDatabase: a datapoint written by another gateway on the same
// database is answered (its id is looked up, not only cached).
func TestSharedDatabase(t *testing.T) {
	u := storetest.PostgresSchema(t)
	a, b := openTest(t, Options{URL: u}), openTest(t, Options{URL: u})
	ctx := context.Background()
	if err := a.Write(ctx, []model.Value{{Device: "d", Name: "p", Value: 1.0, Time: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(ctx, []model.Value{{Device: "d", Name: "p", Value: 2.0, Time: 2}}); err != nil {
		t.Fatal(err)
	}
	got, err := b.History(ctx, model.HistoryQuery{Device: "d", Name: "p", To: 10})
	if err != nil || len(got) != 2 {
		t.Fatalf("got %v, %v", got, err)
	}
}

// TestWriteFailsWhenServerGone: a write on a closed pool is an error, and
// counted, not a panic.
func TestWriteFailsWhenServerGone(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := openTest(t, Options{Metrics: reg})
	s.Close()
	err := s.Write(context.Background(), []model.Value{{Device: "d", Name: "p", Value: 1.0, Time: 1}})
	if err == nil {
		t.Fatal("write after close succeeded")
	}
	if e := testutil.ToFloat64(s.met.Errs); e != 1 {
		t.Errorf("write errors = %v, want 1", e)
	}
	if _, err := s.History(context.Background(), model.HistoryQuery{Device: "d", Name: "p", To: 1}); err == nil || errors.Is(err, model.ErrNoHistory) {
		t.Errorf("history after close: %v", err)
	}
}
