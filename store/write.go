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

// insertRows is how many values one multi-row INSERT carries at most.
// Statements for 500 rows and for every power of two below are prepared
// once and reused; a shorter run is inserted as a sum of them.
const insertRows = 500

// row is one value encoded for the samples table.
type row struct {
	key  samples.Key
	id   int64 // datapoints.id, set by resolveIDs
	ts   int64
	num  any // float64 or nil
	txt  any // string or nil
	kind int64
	q    int64
}

// good tells a good number: its row is inserted with 3 parameters (dp, ts,
// num) instead of 6, which halves the binding cost of a typical batch.
func (r *row) good() bool {
	_, ok := r.num.(float64)
	return ok && r.kind == samples.KindNumber && r.q == samples.QGood
}

// Batch is a batch of values encoded and grouped by datapoint, each group
// ordered by time, with its rollup buckets computed: the work of a write
// that needs no lock. Prepare makes it; WriteBatch stores it. An importer
// prepares the next batch while the previous one is written.
type Batch struct {
	rows   []row
	groups []group
}

// group is the rows of one datapoint in a Batch, ordered by ts (equal
// timestamps in arrival order), and the buckets they make at every level
// (used when they are all newer than the stored values).
type group struct {
	rows    []row
	buckets []levelBucket
}

// Len is the number of values the batch stores.
func (b *Batch) Len() int { return len(b.rows) }

// Prepare encodes vals (skipping, logging and counting values of
// unsupported types) and groups them for WriteBatch.
func (s *Store) Prepare(vals []model.Value) *Batch {
	return groupRows(s.encode(vals))
}

// Write stores vals in one transaction: all of them or, on error, none.
// A value with the same datapoint and timestamp as a stored one replaces it,
// so retrying a batch is harmless. Values whose Go type is not a JSON scalar
// are skipped, logged and counted as dropped.
func (s *Store) Write(ctx context.Context, vals []model.Value) error {
	if len(vals) == 0 {
		return nil
	}
	return s.WriteBatch(ctx, s.Prepare(vals))
}

// WriteBatch stores a prepared batch like Write.
func (s *Store) WriteBatch(ctx context.Context, b *Batch) error {
	if len(b.rows) == 0 {
		return nil
	}
	start := time.Now()
	s.wmu.Lock()
	err := s.writeRows(ctx, b)
	s.wmu.Unlock()
	s.met.Observe(len(b.rows), time.Since(start), err)
	if err != nil {
		return fmt.Errorf("store: write batch of %d values: %w", len(b.rows), err)
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

// groupRows orders rows by datapoint (in order of first appearance) and,
// within one, by ts, keeping the arrival order of equal timestamps so the
// later value still wins; consecutive inserts then land on the same B-tree
// leaf. It is a counting sort by datapoint and a check that each group is
// already in time order (the usual case), sorting only a group that is not.
func groupRows(rows []row) *Batch {
	idx := map[samples.Key]int{}
	var counts []int
	gi := make([]int32, len(rows))
	g := -1
	for i := range rows {
		if i == 0 || rows[i].key != rows[i-1].key { // runs of one datapoint skip the map
			var ok bool
			if g, ok = idx[rows[i].key]; !ok {
				g = len(counts)
				idx[rows[i].key] = g
				counts = append(counts, 0)
			}
		}
		counts[g]++
		gi[i] = int32(g)
	}
	offs := make([]int, len(counts)+1)
	for g, n := range counts {
		offs[g+1] = offs[g] + n
	}
	out := make([]row, len(rows))
	next := slices.Clone(offs[:len(counts)])
	for i := range rows {
		g := gi[i]
		out[next[g]] = rows[i]
		next[g]++
	}
	b := &Batch{rows: out, groups: make([]group, len(counts))}
	for g := range counts {
		grp := out[offs[g]:offs[g+1]]
		if !slices.IsSortedFunc(grp, byTS) {
			slices.SortStableFunc(grp, byTS)
		}
		b.groups[g] = group{rows: grp, buckets: newBuckets(grp, nil)}
	}
	return b
}

func byTS(a, b row) int { return cmp.Compare(a.ts, b.ts) }

// writeRows runs one transaction; the caller holds s.wmu.
func (s *Store) writeRows(ctx context.Context, b *Batch) error {
	// Prepare before BeginTx: the writer pool has one connection, which the
	// transaction then holds.
	if err := s.prepareInserts(ctx); err != nil {
		return err
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	created, err := s.resolveIDs(ctx, tx, b.groups)
	if err != nil {
		return err
	}
	prevMax, err := s.newestStored(ctx, tx, b.groups)
	if err != nil {
		return err
	}
	if err := s.insertAll(ctx, tx, b.rows); err != nil {
		return err
	}
	if err := updateRollups(ctx, tx, s.merge, b.groups, prevMax); err != nil {
		return fmt.Errorf("rollups: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.ids.Add(created)
	for _, g := range b.groups {
		id, last := g.rows[0].id, g.rows[len(g.rows)-1].ts
		if p, ok := prevMax[id]; ok && p > last {
			last = p
		}
		s.maxTS[id] = last
	}
	return nil
}

// newestStored returns the newest stored ts of each datapoint of groups
// that has stored values, from s.maxTS or read inside tx. The caller holds
// s.wmu.
func (s *Store) newestStored(ctx context.Context, tx *sql.Tx, groups []group) (map[int64]int64, error) {
	out := map[int64]int64{}
	for _, g := range groups {
		id := g.rows[0].id
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
func (s *Store) resolveIDs(ctx context.Context, tx *sql.Tx, groups []group) (map[samples.Key]int64, error) {
	var created map[samples.Key]int64
	for _, g := range groups {
		k := g.rows[0].key
		id, ok := s.ids.Get(k)
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
		for i := range g.rows {
			g.rows[i].id = id
		}
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

// insertAll inserts rows: runs of good numbers with the 3-parameter
// statements, other rows with the 6-parameter ones, each run in statements
// of insertRows rows and then of decreasing powers of two.
func (s *Store) insertAll(ctx context.Context, tx *sql.Tx, rows []row) error {
	args := make([]any, 0, 6*insertRows)
	for len(rows) > 0 {
		good := rows[0].good()
		n := 1
		for n < len(rows) && rows[n].good() == good {
			n++
		}
		run := rows[:n]
		rows = rows[n:]
		for len(run) > 0 {
			k := stmtRows(len(run))
			if err := s.insert(ctx, tx, run[:k], good, args[:0]); err != nil {
				return err
			}
			run = run[k:]
		}
	}
	return nil
}

// stmtRows is the size of the largest prepared statement for n rows.
func stmtRows(n int) int {
	if n >= insertRows {
		return insertRows
	}
	k := 1
	for k*2 <= n {
		k *= 2
	}
	return k
}

// insertKey names a prepared INSERT: its rows and whether it is the
// 3-parameter statement of good numbers.
type insertKey struct {
	n    int
	good bool
}

// insert writes rows with one prepared multi-row INSERT.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, rows []row, good bool, args []any) error {
	st := s.stmts[insertKey{len(rows), good}]
	for i := range rows {
		r := &rows[i]
		if good {
			args = append(args, r.id, r.ts, r.num)
		} else {
			args = append(args, r.id, r.ts, r.num, r.txt, r.kind, r.q)
		}
	}
	if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("insert %d samples: %w", len(rows), err)
	}
	return nil
}

// prepareInserts prepares every INSERT statement on first use. It must not
// be called while a transaction is open.
func (s *Store) prepareInserts(ctx context.Context) error {
	if len(s.stmts) > 0 {
		return nil
	}
	for _, good := range []bool{false, true} {
		for n := insertRows; n > 0; n = stmtRows(n - 1) {
			st, err := s.wdb.PrepareContext(ctx, insertSQL(n, good))
			if err != nil {
				return fmt.Errorf("prepare insert of %d rows: %w", n, err)
			}
			s.stmts[insertKey{n, good}] = st
			if n == 1 {
				break
			}
		}
	}
	return nil
}

// insertSQL is the INSERT of n rows; good rows bind dp, ts and num only.
func insertSQL(n int, good bool) string {
	var b strings.Builder
	b.WriteString("INSERT OR REPLACE INTO samples(dp, ts, num, txt, kind, q) VALUES ")
	one := "(?,?,?,?,?,?)"
	if good {
		one = fmt.Sprintf("(?,?,?,NULL,%d,%d)", samples.KindNumber, samples.QGood)
	}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}
