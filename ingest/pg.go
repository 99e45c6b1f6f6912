package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gridbox/gridbox/uplink"
	"github.com/jackc/pgx/v5"
)

// Table is where ingest writes.
const Table = "gridbox_samples"

const schema = `CREATE TABLE IF NOT EXISTS gridbox_samples (
	site text NOT NULL,
	datapoint text NOT NULL,
	ts timestamptz NOT NULL,
	value double precision,
	text_value text,
	quality text,
	PRIMARY KEY (site, datapoint, ts))`

// EnsureSchema creates the table: a TimescaleDB hypertable when the
// extension can be had, a plain table with the same columns otherwise. It
// reports whether the table is a hypertable.
func EnsureSchema(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var avail bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')`).Scan(&avail); err != nil {
		return false, fmt.Errorf("check timescaledb: %w", err)
	}
	if avail {
		if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS timescaledb`); err != nil {
			avail = false // available but not loadable (shared_preload_libraries): a plain table
		}
	}
	if _, err := conn.Exec(ctx, schema); err != nil {
		return false, fmt.Errorf("create %s: %w", Table, err)
	}
	if avail {
		if _, err := conn.Exec(ctx, `SELECT create_hypertable('gridbox_samples', 'ts', if_not_exists => TRUE, migrate_data => TRUE)`); err != nil {
			return false, fmt.Errorf("create hypertable: %w", err)
		}
	}
	return avail, nil
}

// row is one value for the table.
type row struct {
	site, dp string
	ts       time.Time
	num, txt any
	q        string
}

// rows converts a message's values; values that are neither number, text
// nor bool are skipped and counted.
func rows(m uplink.Message, out []row) ([]row, int) {
	bad := 0
	for _, v := range m.Values {
		r := row{site: m.Site, dp: v.DP, ts: time.UnixMilli(v.TS).UTC(), q: v.Q}
		var x any
		if err := json.Unmarshal(v.V, &x); err != nil || v.DP == "" {
			bad++
			continue
		}
		switch t := x.(type) {
		case float64:
			r.num = t
		case string:
			r.txt = pgText(t)
		case bool:
			r.num = map[bool]float64{true: 1, false: 0}[t]
		default:
			bad++
			continue
		}
		out = append(out, r)
	}
	return out, bad
}

func pgText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// write stores rows in one transaction: COPY into a temporary table, then
// one INSERT … ON CONFLICT DO NOTHING, so a value received twice (a resend
// after a lost PUBACK, a redelivery after an ingest restart) is stored once.
// It returns how many rows were new.
func write(ctx context.Context, conn *pgx.Conn, rs []row) (int64, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS gridbox_ingest_stage (LIKE gridbox_samples) ON COMMIT DELETE ROWS`); err != nil {
		return 0, fmt.Errorf("stage table: %w", err)
	}
	cols := []string{"site", "datapoint", "ts", "value", "text_value", "quality"}
	src := pgx.CopyFromSlice(len(rs), func(i int) ([]any, error) {
		r := rs[i]
		return []any{r.site, r.dp, r.ts, r.num, r.txt, r.q}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"gridbox_ingest_stage"}, cols, src); err != nil {
		return 0, fmt.Errorf("copy: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO gridbox_samples SELECT * FROM gridbox_ingest_stage ON CONFLICT DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("insert: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return tag.RowsAffected(), nil
}
