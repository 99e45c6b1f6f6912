package postgres

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/storetest"
)

// dumpRollups returns every rollups row as text, in key order.
func dumpRollups(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), "SELECT dp, res, b, n, sum, mn, mx, ft, fv, lt, lv, e FROM rollups ORDER BY dp, res, b")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var dp, res, b, n, ft, lt int64
		var sum, mn, mx, fv, lv, e float64
		if err := rows.Scan(&dp, &res, &b, &n, &sum, &mn, &mx, &ft, &fv, &lt, &lv, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(dp, res, b, n, sum, mn, mx, ft, fv, lt, lv, e))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRollupsBuiltForOldData: a database whose samples have no rollups
// (as after the migration that adds them) gets them built at open, logged,
// equal to those kept at ingest — on every level, from 1 m to 1 d.
func TestRollupsBuiltForOldData(t *testing.T) {
	u := storetest.PostgresSchema(t)
	s := openTest(t, Options{URL: u})
	var vals []model.Value
	for i := range int64(3000) {
		ts := 1_700_006_400_000 + i*97_000 // ~3.4 days
		vals = append(vals, model.Value{Device: "d", Name: fmt.Sprint("p", i%3), Time: ts, Value: float64(i%50) / 8, Quality: model.Good})
	}
	if err := s.Write(context.Background(), vals[:2000]); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), vals[1000:]); err != nil { // overlapping: the refresh path
		t.Fatal(err)
	}
	kept := dumpRollups(t, s)
	if len(kept) < 4 || !strings.Contains(strings.Join(kept, "\n"), " 86400000 ") {
		t.Fatalf("%d rollup rows, want all levels", len(kept))
	}
	if _, err := s.pool.Exec(context.Background(), "DELETE FROM rollups; INSERT INTO store_meta VALUES ('rollups_pending', 1)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var logs bytes.Buffer
	s = openTest(t, Options{URL: u, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if got := dumpRollups(t, s); !slices.Equal(got, kept) {
		t.Fatalf("built %d rollup rows, kept %d; first differing:\n%v", len(got), len(kept), firstDiff(got, kept))
	}
	if !strings.Contains(logs.String(), "rollups built from raw values") {
		t.Errorf("the build was not logged: %s", logs.String())
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + "\n" + b[i]
		}
	}
	return "(one is a prefix of the other)"
}
