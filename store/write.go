package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/samples"
)

// insertRows is how many values one multi-row INSERT carries (6 parameters
// each); the statement for every size up to it is prepared once and reused.
const insertRows = 500

// row is one value encoded for the samples table.
type row struct {
	key  samples.Key
	id   int64 // datapoints.id, set by resolveIDs
	ts   int64
	seq  int // position in the batch, set by sortRows
	num  any // float64 or nil
	txt  any // string or nil
	kind int64
	q    int64
}

// Write stores vals in one transaction: all of them or, on error, none.
// A value with the same datapoint and timestamp as a stored one replaces it,
// so retrying a batch is harmless. Values whose Go type is not a JSON scalar
// are skipped, logged and counted as dropped.
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
	err := s.writeRows(ctx, rows)
	s.wmu.Unlock()
	s.met.Observe(len(rows), time.Since(start), err)
	if err != nil {
		return fmt.Errorf("store: write batch of %d values: %w", len(rows), err)
	}
	return nil
}

// encode converts values to rows, skipping values of unsupported types.
func (s *Store) encode(vals []model.Value) []row {
	return samples.EncodeAll(vals, s.log, s.met.Metrics, newRow)
}

// newRow is the row of v, whose columns are c.
func newRow(v *model.Value, c samples.Columns) row {
	return row{key: samples.Key{Device: v.Device, Name: v.Name}, ts: v.Time, num: c.Num, txt: c.Txt, kind: int64(c.Kind), q: int64(c.Q)}
}

// writeRows runs one transaction; the caller holds s.wmu.
func (s *Store) writeRows(ctx context.Context, rows []row) error {
	// Prepare before BeginTx: the writer pool has one connection, which the
	// transaction then holds.
	for _, n := range []int{min(len(rows), insertRows), len(rows) % insertRows} {
		if _, err := s.insertStmt(ctx, n); err != nil {
			return err
		}
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	created, err := s.resolveIDs(ctx, tx, rows)
	if err != nil {
		return err
	}
	sortRows(rows)
	prevMax, err := s.newestStored(ctx, tx, rows)
	if err != nil {
		return err
	}
	args := make([]any, 0, 6*min(len(rows), insertRows))
	for rest := rows; len(rest) > 0; {
		n := min(len(rest), insertRows)
		if err := s.insert(ctx, tx, rest[:n], args[:0]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	if err := updateRollups(ctx, tx, s.merge, rows, prevMax); err != nil {
		return fmt.Errorf("rollups: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.ids.Add(created)
	for _, r := range rows { // sorted: the last row of a datapoint is its newest
		if p, ok := prevMax[r.id]; ok && p > r.ts {
			s.maxTS[r.id] = p
		} else {
			s.maxTS[r.id] = r.ts
		}
	}
	return nil
}

// newestStored returns the newest stored ts of each datapoint in rows
// (sorted by id) that has stored values, from s.maxTS or read inside tx.
// The caller holds s.wmu.
func (s *Store) newestStored(ctx context.Context, tx *sql.Tx, rows []row) (map[int64]int64, error) {
	out := map[int64]int64{}
	for i := range rows {
		id := rows[i].id
		if i > 0 && rows[i-1].id == id {
			continue
		}
		if ts, ok := s.maxTS[id]; ok {
			out[id] = ts
			continue
		}
		var ts sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT max(ts) FROM samples WHERE dp = ?", id).Scan(&ts); err != nil {
			return nil, fmt.Errorf("newest value of datapoint %d: %w", id, err)
		}
		if ts.Valid {
			out[id] = ts.Int64
		}
	}
	return out, nil
}

// resolveIDs sets the datapoint id of every row, creating ids for new
// datapoints inside tx. created holds the new ids, cached only after commit.
func (s *Store) resolveIDs(ctx context.Context, tx *sql.Tx, rows []row) (map[samples.Key]int64, error) {
	var created map[samples.Key]int64
	for i := range rows {
		k := rows[i].key
		id, ok := s.ids.Get(k)
		if !ok {
			id, ok = created[k]
		}
		if !ok {
			var err error
			if id, err = createID(ctx, tx, k); err != nil {
				return nil, fmt.Errorf("datapoint %s: %w", model.Key(k.Device, k.Name), err)
			}
			if created == nil {
				created = map[samples.Key]int64{}
			}
			created[k] = id
		}
		rows[i].id = id
	}
	return created, nil
}

func createID(ctx context.Context, tx *sql.Tx, k samples.Key) (int64, error) {
	if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO datapoints(device, name) VALUES(?, ?)", k.Device, k.Name); err != nil {
		return 0, fmt.Errorf("insert id: %w", err)
	}
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM datapoints WHERE device = ? AND name = ?", k.Device, k.Name).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("read id: %w", err)
	}
	return id, nil
}

// insert writes up to insertRows rows with one prepared multi-row INSERT.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, rows []row, args []any) error {
	st, err := s.insertStmt(ctx, len(rows))
	if err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		args = append(args, r.id, r.ts, r.num, r.txt, r.kind, r.q)
	}
	if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("insert %d samples: %w", len(rows), err)
	}
	return nil
}

// insertStmt returns the cached INSERT for n rows, preparing it on first use
// (n == 0 is a no-op). It must not be first called while a transaction is open.
func (s *Store) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	if st, ok := s.stmts[n]; ok || n == 0 {
		return st, nil
	}
	var b strings.Builder
	b.WriteString("INSERT OR REPLACE INTO samples(dp, ts, num, txt, kind, q) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?)")
	}
	st, err := s.wdb.PrepareContext(ctx, b.String())
	if err != nil {
		return nil, fmt.Errorf("prepare insert of %d rows: %w", n, err)
	}
	s.stmts[n] = st
	return st, nil
}

// sortRows orders rows by (datapoint id, ts), so consecutive inserts land on
// the same B-tree leaf: fewer page visits and splits than arrival order.
// Equal keys keep their arrival order, so the later value still wins.
func sortRows(rows []row) {
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
}
