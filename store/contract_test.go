package store_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
	"github.com/gridbox/gridbox/store"
	"github.com/gridbox/gridbox/store/postgres"
	"github.com/gridbox/gridbox/store/storetest"
)

// TestContract runs the history contract shared with the PostgreSQL store
// (store/storetest) against the SQLite store.
func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Reopenable(
		func(t *testing.T) string { return t.TempDir() },
		func(t *testing.T, dir string) storetest.Store {
			s, err := store.Open(context.Background(), store.Options{Path: dir})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}))
}

// TestMaxRowsShared: both stores and the contract suite cap answers alike.
func TestMaxRowsShared(t *testing.T) {
	caps := map[string]int{"postgres": postgres.MaxRows, "storetest": storetest.MaxRows}
	for pkg, n := range caps {
		if n != store.MaxRows {
			t.Errorf("%s.MaxRows = %d, store.MaxRows = %d", pkg, n, store.MaxRows)
		}
	}
}

// checkStore parses a config whose store section is src and returns what
// the gateway's check reports.
func checkStore(t *testing.T, src string, env map[string]string) string {
	t.Helper()
	cfg, err := config.Parse([]byte("http: {auth: none}\n"+src), "g.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return err.Error()
	}
	if err := gateway.Check(cfg, gateway.Options{}); err != nil {
		return err.Error()
	}
	return ""
}

// TestKindURL: `store.url` selects PostgreSQL; path and url together are
// one error naming both keys; the URL is checked (never echoing the
// password); ${ENV} and GRIDBOX_STORE_URL work as for every key.
func TestKindURL(t *testing.T) {
	cases := []struct {
		src  string
		env  map[string]string
		want string // "" = valid
	}{
		{"store: {url: \"postgres://u:p@db:5432/gridbox?sslmode=disable\"}\n", nil, ""},
		{"store: {url: \"postgres://gridbox:${PGPW}@db/gridbox\"}\n", map[string]string{"PGPW": "s3cret"}, ""},
		{"store: {url: \"postgres://gridbox:${PGPW}@db/gridbox\"}\n", nil, "store.url"},
		{"store: {path: ./data}\n", nil, ""},
		{"store: {}\n", nil, ""},
		{"store: {}\n", map[string]string{"GRIDBOX_STORE_URL": "postgres://db/gridbox"}, ""},
		{"store:\n  path: ./data\n  url: postgres://db/gridbox\n", nil, "g.yaml:4: store.url: path and url are mutually exclusive"},
		{"store: {path: ./data}\n", map[string]string{"GRIDBOX_STORE_URL": "postgres://db/gridbox"}, "store.url: path and url are mutually exclusive"},
		{"store:\n  url: postgres://db/gridbox\n  retention: {raw: 30d, 1m: 1y}\n", nil, ""},
		{"store: {url: \"mysql://u:s3cret@db/x\"}\n", nil, "g.yaml:2: store.url: mysql://u:xxxxx@db/x: scheme \"mysql\""},
		{"store: {url: \"postgres://u:s3cret@db/x?sslmode=sometimes\"}\n", nil, "g.yaml:2: store.url: postgres://u:xxxxx@db/x?sslmode=sometimes: invalid connection URL"},
	}
	for _, c := range cases {
		got := checkStore(t, c.src, c.env)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%q %v: got %q, want %q", c.src, c.env, got, c.want)
		}
		if strings.Contains(got, "s3cret") {
			t.Errorf("%q: error shows the password: %s", c.src, got)
		}
	}
}

// TestKindOpensPostgres: the store kind with url set runs the PostgreSQL
// store: a sink.Historian that ingests from the bus.
func TestKindOpensPostgres(t *testing.T) {
	u := storetest.PostgresSchema(t)
	k := store.Kind()
	cfg := k.NewConfig().(*store.Config)
	cfg.URL = u
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	snk, err := k.New(context.Background(), cfg, sink.Env{Name: "store", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer snk.Close()
	if _, ok := snk.(*postgres.Store); !ok {
		t.Fatalf("store kind with url opened %T, want *postgres.Store", snk)
	}
	h, ok := snk.(sink.Historian)
	if !ok {
		t.Fatal("not a sink.Historian")
	}
	if err := snk.(storetest.Store).Write(context.Background(), []model.Value{{Device: "d", Name: "p", Value: 1.5, Time: 7}}); err != nil {
		t.Fatal(err)
	}
	got, err := h.History(context.Background(), model.HistoryQuery{Device: "d", Name: "p", To: 10})
	if err != nil || len(got) != 1 || got[0].Value != 1.5 {
		t.Fatalf("got %v, %v", got, err)
	}
}

// TestKindEnergyUnits: the store sink answers agg=energy in Wh by the
// catalog's unit (kW values count a thousand times), refuses it for a
// datapoint whose unit is not power, and takes a datapoint the catalog
// does not know (history only) as W.
func TestKindEnergyUnits(t *testing.T) {
	b := bus.New()
	if err := b.AddDevice(model.DeviceState{Device: "pv", Driver: "sim"}, []model.Datapoint{
		{Name: "p", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "kW"}},
		{Name: "e", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "kWh"}}}, nil, 0); err != nil {
		t.Fatal(err)
	}
	k := store.Kind()
	cfg := k.NewConfig().(*store.Config)
	cfg.Path = t.TempDir()
	snk, err := k.New(context.Background(), cfg, sink.Env{Name: "store", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	defer snk.Close()
	s := snk.(*store.Store)
	var vals []model.Value
	for _, name := range []string{"p", "e"} {
		for _, dev := range []string{"pv", "old"} {
			vals = append(vals, model.Value{Device: dev, Name: name, Value: 2.0, Time: 0}, model.Value{Device: dev, Name: name, Value: 2.0, Time: 3_600_000})
		}
	}
	if err := s.Write(context.Background(), vals); err != nil {
		t.Fatal(err)
	}
	q := model.HistoryQuery{Device: "pv", Name: "p", To: 3_600_000 - 1, Interval: time.Hour, Agg: "energy"}
	if got, err := s.History(context.Background(), q); err != nil || len(got) != 1 || got[0].Value != 2000.0 {
		t.Errorf("2 kW for an hour: got %v, %v, want 2000 Wh", got, err)
	}
	q.Device = "old"
	if got, err := s.History(context.Background(), q); err != nil || len(got) != 1 || got[0].Value != 2.0 {
		t.Errorf("history-only datapoint: got %v, %v, want 2 Wh", got, err)
	}
	q.Device, q.Name = "pv", "e"
	var qe *model.QueryError
	if _, err := s.History(context.Background(), q); !errors.As(err, &qe) || qe.Field != "agg" || !strings.Contains(qe.Msg, `"kWh"`) {
		t.Errorf("kWh datapoint: got %v, want a QueryError on agg naming the unit", err)
	}
}
