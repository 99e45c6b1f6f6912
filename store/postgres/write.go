package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/samples"
	"github.com/jackc/pgx/v5"
)

// row is one value encoded for the samples table.
type row struct {
	key  samples.Key
	id   int64 // datapoints.id, set by resolveIDs
	ts   int64
	seq  int // position in the batch, set by sortRows
	num  any // float64 or nil
	txt  any // string or nil
	kind int16
	q    int16
}

var sampleCols = []string{"dp", "ts", "num", "txt", "kind", "q"}

// Write stores vals in one transaction: all of them or, on error, none.
// A value with the same datapoint and timestamp as a stored one replaces it
// (within a batch the later value wins), so retrying a batch is harmless.
// Values whose Go type is not a JSON scalar are skipped, logged and counted
// as dropped — the same rules as the SQLite store.
func (s *Store) Write(ctx context.Context, vals []model.Value) error {
	if len(vals) == 0 {
		return nil
	}
	rows := s.encode(vals)
	if len(rows) == 0 {
		return nil
	}
	start := time.Now()
	s.wmu.Lock()
	n, err := s.writeRows(ctx, rows)
	s.wmu.Unlock()
	s.met.Observe(n, time.Since(start), err)
	if err != nil {
		return fmt.Errorf("postgres: write batch of %d values: %w", len(rows), err)
	}
	return nil
}

// encode converts values to rows with the SQLite store's encoding
// (samples.Encode), skipping values of unsupported types. One difference of
// the database is evened out: text that PostgreSQL refuses (NUL bytes,
// invalid UTF-8) has those bytes replaced by U+FFFD.
func (s *Store) encode(vals []model.Value) []row {
	return samples.EncodeAll(vals, s.log, s.met, newRow)
}

// newRow is the row of v, whose columns are c.
func newRow(v *model.Value, c samples.Columns) row {
	if t, ok := c.Txt.(string); ok {
		c.Txt = pgText(t)
	}
	return row{key: samples.Key{Device: v.Device, Name: v.Name}, ts: v.Time, num: c.Num, txt: c.Txt, kind: c.Kind, q: c.Q}
}

// pgText makes s acceptable to a PostgreSQL text column.
func pgText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// writeRows runs one transaction and returns how many rows it stored; the
// caller holds s.wmu. The rows are COPYed straight into samples; when that
// hits a stored (dp, ts) — a retried batch, a replaced value — the COPY is
// rolled back to a savepoint and the batch goes through a temporary table
// and INSERT … ON CONFLICT DO UPDATE instead.
func (s *Store) writeRows(ctx context.Context, rows []row) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	created, err := s.resolveIDs(ctx, tx, rows)
	if err != nil {
		return 0, err
	}
	rows = sortRows(rows)
	prevMax, err := s.newestStored(ctx, tx, rows)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, "SAVEPOINT copy_samples"); err != nil {
		return 0, err
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"samples"}, sampleCols, &rowSource{rows: rows, i: -1})
	if isCode(err, "23505") { // unique_violation: some (dp, ts) is stored already
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT copy_samples"); err != nil {
			return 0, err
		}
		err = upsert(ctx, tx, rows)
	}
	if err != nil {
		return 0, fmt.Errorf("copy samples: %w", err)
	}
	if err := updateRollups(ctx, tx, rows, prevMax); err != nil {
		return 0, fmt.Errorf("rollups: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	s.ids.Add(created)
	for i := range rows { // sorted: the last row of a datapoint is its newest
		if p, ok := prevMax[rows[i].id]; !ok || rows[i].ts > p {
			s.maxTS[rows[i].id] = rows[i].ts
		} else {
			s.maxTS[rows[i].id] = p
		}
	}
	return len(rows), nil
}

// upsert writes rows through a temporary table, replacing stored values.
func upsert(ctx context.Context, tx pgx.Tx, rows []row) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS gridbox_stage (
		dp integer, ts bigint, num double precision, txt text, kind smallint, q smallint) ON COMMIT DELETE ROWS`); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"gridbox_stage"}, sampleCols, &rowSource{rows: rows, i: -1}); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO samples(dp, ts, num, txt, kind, q)
		SELECT dp, ts, num, txt, kind, q FROM gridbox_stage
		ON CONFLICT (dp, ts) DO UPDATE SET num = EXCLUDED.num, txt = EXCLUDED.txt, kind = EXCLUDED.kind, q = EXCLUDED.q`)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "TRUNCATE gridbox_stage")
	return err
}

// rowSource feeds rows to CopyFrom without building a [][]any.
type rowSource struct {
	rows []row
	i    int
	vals [6]any
}

func (rs *rowSource) Next() bool { rs.i++; return rs.i < len(rs.rows) }

func (rs *rowSource) Values() ([]any, error) {
	r := &rs.rows[rs.i]
	rs.vals = [6]any{r.id, r.ts, r.num, r.txt, r.kind, r.q}
	return rs.vals[:], nil
}

func (rs *rowSource) Err() error { return nil }

// resolveIDs sets the datapoint id of every row, creating the ids of new
// datapoints inside tx with one statement. created holds the ids that were
// not cached; they are cached only after commit.
func (s *Store) resolveIDs(ctx context.Context, tx pgx.Tx, rows []row) (map[samples.Key]int64, error) {
	var devs, names []string
	seen := map[samples.Key]bool{}
	for i := range rows {
		k := rows[i].key
		if _, ok := s.ids.Get(k); !ok && !seen[k] {
			seen[k] = true
			devs, names = append(devs, k.Device), append(names, k.Name)
		}
	}
	var created map[samples.Key]int64
	if len(devs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO datapoints(device, name)
			SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (device, name) DO NOTHING`, devs, names); err != nil {
			return nil, fmt.Errorf("insert datapoint ids: %w", err)
		}
		q, err := tx.Query(ctx, `SELECT id, device, name FROM datapoints
			WHERE (device, name) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, devs, names)
		if err != nil {
			return nil, fmt.Errorf("read datapoint ids: %w", err)
		}
		created = map[samples.Key]int64{}
		for q.Next() {
			var id int64
			var k samples.Key
			if err := q.Scan(&id, &k.Device, &k.Name); err != nil {
				q.Close()
				return nil, fmt.Errorf("read datapoint ids: %w", err)
			}
			created[k] = id
		}
		q.Close()
		if err := q.Err(); err != nil {
			return nil, fmt.Errorf("read datapoint ids: %w", err)
		}
	}
	for i := range rows {
		k := rows[i].key
		id, ok := s.ids.Get(k)
		if !ok {
			if id, ok = created[k]; !ok {
				return nil, fmt.Errorf("datapoint %s: no id after insert", model.Key(k.Device, k.Name))
			}
		}
		rows[i].id = id
	}
	return created, nil
}

// sortRows orders rows by (datapoint id, ts) and keeps only the last of
// rows with the same key — the later value wins, as with SQLite's INSERT OR
// REPLACE — since one COPY or INSERT must not carry a key twice.
func sortRows(rows []row) []row {
	for i := range rows {
		rows[i].seq = i
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ts, b.ts); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	out := rows[:0]
	for i := range rows {
		if i+1 < len(rows) && rows[i+1].id == rows[i].id && rows[i+1].ts == rows[i].ts {
			continue
		}
		out = append(out, rows[i])
	}
	return out
}
