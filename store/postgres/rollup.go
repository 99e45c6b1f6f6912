package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridbox/gridbox/store/samples"
	"github.com/jackc/pgx/v5"
)

// The rollups table is the SQLite store's (docs/store-sqlite.md,
// "Rollups"): per datapoint, resolution and bucket the count, sum, min,
// max, first and last value and the energy integral e of the good numeric
// values. Here every write recomputes the touched buckets in SQL inside the
// batch's transaction: the 1-minute buckets from raw values, each coarser
// level from the next finer one — set-based statements for all datapoints
// of the batch at once, 8 per batch.

// rawBuckets recomputes the 1-minute buckets of the runs from samples.
// $1..$3 are the runs (dp, first bucket, last bucket ms); the first and last
// of each bucket are taken by ts, e sums the lines between the bucket's
// consecutive values. The LATERAL subquery makes each run one range scan
// of the samples key (a join on the arrays was planned as a scan of the
// whole table).
var rawBuckets = `INSERT INTO rollups (dp, res, b, n, sum, mn, mx, ft, fv, lt, lv, e)
SELECT dp, $4, b, count(*), sum(num), min(num), max(num),
	min(ts), (array_agg(num ORDER BY ts))[1], max(ts), (array_agg(num ORDER BY ts DESC))[1],
	coalesce(sum(seg), 0)
FROM (
	SELECT dp, b, ts, num, (ts - lag(ts) OVER w) * (num + lag(num) OVER w) / 2.0 AS seg
	FROM (
		SELECT u.dp, s.ts, s.num, s.ts - (((s.ts % $4) + $4) % $4) AS b
		FROM unnest($1::integer[], $2::bigint[], $3::bigint[]) AS u(dp, lo, hi)
		CROSS JOIN LATERAL (SELECT ts, num FROM samples
			WHERE dp = u.dp AND ts BETWEEN u.lo AND u.hi + $4 - 1 AND ` + goodCond + `) s
	) v
	WINDOW w AS (PARTITION BY dp, b ORDER BY ts)
) x GROUP BY dp, b`

// childBuckets recomputes the buckets of resolution $4 from those of $5:
// e adds the children's integrals and the lines joining them.
const childBuckets = `INSERT INTO rollups (dp, res, b, n, sum, mn, mx, ft, fv, lt, lv, e)
SELECT dp, $4, pb, sum(n), sum(sum), min(mn), max(mx),
	min(ft), (array_agg(fv ORDER BY b))[1], max(lt), (array_agg(lv ORDER BY b DESC))[1],
	sum(e) + coalesce(sum(seg), 0)
FROM (
	SELECT dp, pb, b, n, sum, mn, mx, ft, fv, lt, lv, e,
		(ft - lag(lt) OVER w) * (fv + lag(lv) OVER w) / 2.0 AS seg
	FROM (
		SELECT u.dp, r.*, r.b - (((r.b % $4) + $4) % $4) AS pb
		FROM unnest($1::integer[], $2::bigint[], $3::bigint[]) AS u(dp, lo, hi)
		CROSS JOIN LATERAL (SELECT b, n, sum, mn, mx, ft, fv, lt, lv, e FROM rollups
			WHERE dp = u.dp AND res = $5 AND b BETWEEN u.lo AND u.hi + $4 - 1) r
	) v
	WINDOW w AS (PARTITION BY dp, pb ORDER BY b)
) x GROUP BY dp, pb`

// deleteBuckets deletes the buckets of resolution $4 in the runs, by their
// row ids found with one range scan of the key per run.
const deleteBuckets = `DELETE FROM rollups WHERE ctid = ANY(ARRAY(
	SELECT r.ctid FROM unnest($1::integer[], $2::bigint[], $3::bigint[]) AS u(dp, lo, hi)
	CROSS JOIN LATERAL (SELECT ctid FROM rollups WHERE dp = u.dp AND res = $4 AND b BETWEEN u.lo AND u.hi) r))`

// goodCond selects the values aggregates take: good quality, numbers, not NULL.
var goodCond = fmt.Sprintf("q = %d AND kind = %d AND num IS NOT NULL", samples.QGood, samples.KindNumber)

// runSet is the runs of one level for several datapoints, as the arrays
// the statements take.
type runSet struct {
	dps        []int32
	first, end []int64
}

func (r *runSet) add(dp int64, s samples.Span) {
	r.dps, r.first, r.end = append(r.dps, int32(dp)), append(r.first, s.First), append(r.end, s.Last)
}

// refreshRollups recomputes every level's buckets that rows (sorted by
// (dp, ts)) touch, inside tx.
func refreshRollups(ctx context.Context, tx pgx.Tx, rows []row) error {
	type dpRuns struct {
		dp   int64
		runs []samples.Span
	}
	var all []dpRuns
	for len(rows) > 0 {
		n := 1
		for n < len(rows) && rows[n].id == rows[0].id {
			n++
		}
		bs := make([]int64, n)
		for i := range bs {
			bs[i] = samples.FloorTo(rows[i].ts, samples.RollupRes[0])
		}
		all = append(all, dpRuns{rows[0].id, samples.RunsOf(bs, samples.RollupRes[0])})
		rows = rows[n:]
	}
	for l := range samples.RollupRes {
		var set runSet
		for i := range all {
			if l > 0 {
				all[i].runs = samples.ParentRuns(all[i].runs, l-1)
			}
			for _, s := range all[i].runs {
				set.add(all[i].dp, s)
			}
		}
		if err := refreshLevel(ctx, tx, l, set); err != nil {
			return fmt.Errorf("rollups %s: %w", samples.RollupNames[l], err)
		}
	}
	return nil
}

// refreshLevel deletes the buckets of level l in set and computes them
// again; a bucket left without values stays deleted.
func refreshLevel(ctx context.Context, tx pgx.Tx, l int, set runSet) error {
	res := samples.RollupRes[l]
	if _, err := tx.Exec(ctx, deleteBuckets, set.dps, set.first, set.end, res); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	var err error
	if l == 0 {
		_, err = tx.Exec(ctx, rawBuckets, set.dps, set.first, set.end, res)
	} else {
		_, err = tx.Exec(ctx, childBuckets, set.dps, set.first, set.end, res, samples.RollupRes[l-1])
	}
	if err != nil {
		return fmt.Errorf("compute: %w", err)
	}
	return nil
}

// buildPending builds the rollups of a database whose samples predate them
// (migration 3 marks it), one datapoint per transaction, then clears the
// mark; an interrupted build starts again at the next open.
func (s *Store) buildPending(ctx context.Context) error {
	var pending int64
	err := s.pool.QueryRow(ctx, "SELECT value FROM store_meta WHERE key = 'rollups_pending'").Scan(&pending)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && pending == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read rollup state: %w", err)
	}
	start := time.Now()
	rows, err := s.pool.Query(ctx, "SELECT dp, min(ts), max(ts) FROM samples GROUP BY dp ORDER BY dp")
	if err != nil {
		return fmt.Errorf("build rollups: %w", err)
	}
	type extent struct{ dp, lo, hi int64 }
	var todo []extent
	for rows.Next() {
		var e extent
		if err := rows.Scan(&e.dp, &e.lo, &e.hi); err != nil {
			rows.Close()
			return fmt.Errorf("build rollups: %w", err)
		}
		todo = append(todo, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("build rollups: %w", err)
	}
	for _, e := range todo {
		if err := s.buildDatapoint(ctx, e.dp, e.lo, e.hi); err != nil {
			return fmt.Errorf("build rollups of datapoint %d: %w", e.dp, err)
		}
	}
	if len(todo) > 0 {
		s.log.Info("rollups built from raw values", "datapoints", len(todo), "took", time.Since(start).Round(time.Millisecond))
	}
	if _, err := s.pool.Exec(ctx, "DELETE FROM store_meta WHERE key = 'rollups_pending'"); err != nil {
		return fmt.Errorf("clear rollup state: %w", err)
	}
	return nil
}

// buildDatapoint recomputes every level of dp over [lo, hi] in one
// transaction.
func (s *Store) buildDatapoint(ctx context.Context, dp, lo, hi int64) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	runs := []samples.Span{{First: samples.FloorTo(lo, samples.RollupRes[0]), Last: samples.FloorTo(hi, samples.RollupRes[0])}}
	for l := range samples.RollupRes {
		if l > 0 {
			runs = samples.ParentRuns(runs, l-1)
		}
		var set runSet
		for _, r := range runs {
			set.add(dp, r)
		}
		if err := refreshLevel(ctx, tx, l, set); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}
