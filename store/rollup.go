package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gridbox/gridbox/store/samples"
)

// The rollup resolutions, shared with the PostgreSQL store (samples.RollupRes).
var (
	rollupRes   = samples.RollupRes
	rollupNames = samples.RollupNames
)

// acc, bucket and the helpers below are samples' (shared with the
// PostgreSQL store), named short here.
type (
	acc        = samples.Acc
	bucket     = samples.Bucket
	bucketList = samples.BucketList
	span       = samples.Span
)

var (
	single   = samples.Single
	floorTo  = samples.FloorTo
	endOf    = samples.EndOf
	runsOf   = samples.RunsOf
	plan     = samples.Plan
	coarsest = samples.Coarsest
)

// aggregated tells whether a row enters aggregates: exactly the filter of
// the raw aggregate query (good quality, number kind, not NULL/NaN).
func aggregated(r *row) (float64, bool) {
	f, ok := r.num.(float64)
	if !ok || r.kind != samples.KindNumber || r.q != samples.QGood || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// rollupWriter updates rollups inside one write transaction.
type rollupWriter struct {
	ctx context.Context
	tx  *sql.Tx
	dp  int64
}

// refresh recomputes the buckets of level l in runs from their sources (raw
// rows for 1m, the next finer level otherwise), deleting buckets left
// without values, then does the same for the coarser levels.
func (w *rollupWriter) refresh(l int, runs []span) error {
	for ; l < len(rollupRes); l++ {
		for _, s := range runs {
			if err := w.refreshSpan(l, s); err != nil {
				return fmt.Errorf("refresh %s buckets %d..%d: %w", rollupNames[l], s.First, s.Last, err)
			}
		}
		if l+1 < len(rollupRes) {
			runs = samples.ParentRuns(runs, l)
		}
	}
	return nil
}

func (w *rollupWriter) refreshSpan(l int, s span) error {
	r := rollupRes[l]
	if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM rollups WHERE dp = ? AND res = ? AND b BETWEEN ? AND ?`,
		w.dp, r, s.First, s.Last); err != nil {
		return err
	}
	var bs bucketList
	bs.IV = r
	var err error
	if l == 0 {
		err = scanRaw(w.ctx, w.tx, w.dp, s.First, endOf(s.Last, r), bs.Add)
	} else {
		err = scanRollups(w.ctx, w.tx, w.dp, rollupRes[l-1], s.First, endOf(s.Last, r), bs.Add)
	}
	if err != nil {
		return err
	}
	return w.put(l, bs.Out)
}

// put writes buckets of level l, replacing rows with the same key.
func (w *rollupWriter) put(l int, bs []bucket) error {
	for i := range bs {
		a := &bs[i].A
		if _, err := w.tx.ExecContext(w.ctx, `INSERT OR REPLACE INTO rollups(dp, res, b, n, sum, mn, mx, ft, fv, lt, lv, e)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.dp, rollupRes[l], bs[i].B, a.N, a.Sum, a.Mn, a.Mx, a.FT, a.FV, a.LT, a.LV, a.E); err != nil {
			return fmt.Errorf("write %s bucket %d: %w", rollupNames[l], bs[i].B, err)
		}
	}
	return nil
}

// mergeRowsN is how many buckets one prepared merge statement carries.
const mergeRowsN = 16

// mergeSQL adds n buckets to stored ones in one statement: count, sum,
// min and max combine, first and last compare timestamps (every right-hand
// side of an UPDATE sees the stored row). The merged values are all newer
// than the stored ones (updateRollups), so the integral is both integrals
// plus the line from the stored last value to the new first one; should
// that ever not hold, e becomes NULL and the NOT NULL constraint fails the
// write instead of storing a wrong integral.
func mergeSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO rollups(dp, res, b, n, sum, mn, mx, ft, fv, lt, lv, e) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(` ON CONFLICT (dp, res, b) DO UPDATE SET
		e = CASE WHEN excluded.ft > lt THEN e + excluded.e + (excluded.ft - lt) * (lv + excluded.fv) / 2.0 END,
		n = n + excluded.n, sum = sum + excluded.sum,
		mn = min(mn, excluded.mn), mx = max(mx, excluded.mx),
		ft = CASE WHEN excluded.ft < ft THEN excluded.ft ELSE ft END,
		fv = CASE WHEN excluded.ft < ft THEN excluded.fv ELSE fv END,
		lt = CASE WHEN excluded.lt > lt THEN excluded.lt ELSE lt END,
		lv = CASE WHEN excluded.lt > lt THEN excluded.lv ELSE lv END`)
	return b.String()
}

// mergeStmts are the prepared merge statements for 1 and mergeRowsN buckets.
type mergeStmts struct{ one, many *sql.Stmt }

func prepareMerge(ctx context.Context, db *sql.DB) (mergeStmts, error) {
	one, err := db.PrepareContext(ctx, mergeSQL(1))
	if err != nil {
		return mergeStmts{}, fmt.Errorf("prepare rollup merge: %w", err)
	}
	many, err := db.PrepareContext(ctx, mergeSQL(mergeRowsN))
	if err != nil {
		one.Close()
		return mergeStmts{}, fmt.Errorf("prepare rollup merge: %w", err)
	}
	return mergeStmts{one, many}, nil
}

func (m mergeStmts) close() error { return errors.Join(m.one.Close(), m.many.Close()) }

// levelBucket is one bucket of one level (res), to be merged.
type levelBucket struct {
	res int64
	bucket
}

// newBuckets appends the buckets of every level made of rows, which are
// sorted by ts; of equal timestamps the last wins (it replaced the others).
func newBuckets(rows []row, out []levelBucket) []levelBucket {
	for _, r := range rollupRes {
		bs := bucketList{IV: r}
		for i := range rows {
			if i+1 < len(rows) && rows[i+1].ts == rows[i].ts {
				continue
			}
			if f, ok := aggregated(&rows[i]); ok {
				bs.Add(rows[i].ts, single(rows[i].ts, f))
			}
		}
		for _, b := range bs.Out {
			out = append(out, levelBucket{r, b})
		}
	}
	return out
}

// merge adds the buckets of groups to the stored ones with the prepared
// statements, mergeRowsN buckets per statement where it can.
func (m mergeStmts) merge(ctx context.Context, tx *sql.Tx, groups []group) error {
	type item struct {
		dp int64
		lb *levelBucket
	}
	var bs []item
	for _, g := range groups {
		for i := range g.buckets {
			bs = append(bs, item{g.rows[0].id, &g.buckets[i]})
		}
	}
	args := make([]any, 0, 12*mergeRowsN)
	for len(bs) > 0 {
		n, st := 1, m.one
		if len(bs) >= mergeRowsN {
			n, st = mergeRowsN, m.many
		}
		args = args[:0]
		for _, x := range bs[:n] {
			a := &x.lb.A
			args = append(args, x.dp, x.lb.res, x.lb.B, a.N, a.Sum, a.Mn, a.Mx, a.FT, a.FV, a.LT, a.LV, a.E)
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("merge %d rollup buckets: %w", n, err)
		}
		bs = bs[n:]
	}
	return nil
}

// updateRollups brings the rollups of the groups' datapoints up to date
// inside tx. prevMax holds each datapoint's newest stored ts before this
// batch (absent: none). A datapoint whose rows are all newer has its
// buckets merged into the stored ones (none replaced a stored value);
// otherwise a row may have replaced one, and the touched 1-minute buckets
// are recomputed from raw, then their parents from them.
func updateRollups(ctx context.Context, tx *sql.Tx, m mergeStmts, groups []group, prevMax map[int64]int64) error {
	var fresh []group
	for _, g := range groups {
		dp := g.rows[0].id
		if prev, seen := prevMax[dp]; !seen || g.rows[0].ts > prev {
			fresh = append(fresh, g)
			continue
		}
		w := &rollupWriter{ctx: ctx, tx: tx, dp: dp}
		if err := w.refresh(0, minuteRuns(g.rows)); err != nil {
			return fmt.Errorf("rollups of datapoint %d: %w", dp, err)
		}
	}
	return m.merge(ctx, tx, fresh)
}

// minuteRuns are the runs of 1-minute buckets holding rows (sorted by ts).
func minuteRuns(rows []row) []span {
	bs := make([]int64, len(rows))
	for i := range rows {
		bs[i] = floorTo(rows[i].ts, rollupRes[0])
	}
	return runsOf(bs, rollupRes[0])
}
