package postgres

import (
	"context"
	"fmt"

	"github.com/gridbox/gridbox/store/samples"
	"github.com/jackc/pgx/v5"
)

// mergeBuckets adds buckets computed in Go to the stored ones: count, sum,
// min and max combine, first and last compare timestamps, and the integral
// adds the line from the stored last value to the new first one — the
// merged values are all newer than the stored ones (splitFresh); should
// that not hold, e becomes NULL and the NOT NULL constraint fails the
// batch instead of storing a wrong integral. Every right-hand side sees the
// stored row (rollups.*).
const mergeBuckets = `INSERT INTO rollups AS r (dp, res, b, n, sum, mn, mx, ft, fv, lt, lv, e)
SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::bigint[], $5::float8[], $6::float8[],
	$7::float8[], $8::bigint[], $9::float8[], $10::bigint[], $11::float8[], $12::float8[])
ON CONFLICT (dp, res, b) DO UPDATE SET
	e = CASE WHEN EXCLUDED.ft > r.lt THEN r.e + (EXCLUDED.e + (EXCLUDED.ft - r.lt) * (r.lv + EXCLUDED.fv) / 2.0) END,
	n = r.n + EXCLUDED.n, sum = r.sum + EXCLUDED.sum,
	mn = least(r.mn, EXCLUDED.mn), mx = greatest(r.mx, EXCLUDED.mx),
	ft = CASE WHEN EXCLUDED.ft < r.ft THEN EXCLUDED.ft ELSE r.ft END,
	fv = CASE WHEN EXCLUDED.ft < r.ft THEN EXCLUDED.fv ELSE r.fv END,
	lt = CASE WHEN EXCLUDED.lt > r.lt THEN EXCLUDED.lt ELSE r.lt END,
	lv = CASE WHEN EXCLUDED.lt > r.lt THEN EXCLUDED.lv ELSE r.lv END`

// newestStored returns the newest stored ts of each datapoint of rows
// (sorted by dp) that has values, from s.maxTS or read inside tx. The
// caller holds s.wmu.
func (s *Store) newestStored(ctx context.Context, tx pgx.Tx, rows []row) (map[int64]int64, error) {
	out := map[int64]int64{}
	var ask []int32
	for i := range rows {
		id := rows[i].id
		if i > 0 && rows[i-1].id == id {
			continue
		}
		if ts, ok := s.maxTS[id]; ok {
			out[id] = ts
		} else {
			ask = append(ask, int32(id))
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	q, err := tx.Query(ctx, `SELECT u.dp, (SELECT max(ts) FROM samples WHERE dp = u.dp) FROM unnest($1::integer[]) AS u(dp)`, ask)
	if err != nil {
		return nil, fmt.Errorf("newest stored values: %w", err)
	}
	defer q.Close()
	for q.Next() {
		var dp int64
		var ts *int64
		if err := q.Scan(&dp, &ts); err != nil {
			return nil, fmt.Errorf("newest stored values: %w", err)
		}
		if ts != nil {
			out[dp] = *ts
		}
	}
	return out, q.Err()
}

// updateRollups brings the rollups of rows' datapoints (rows sorted by
// (dp, ts), one row per key) up to date inside tx: a datapoint whose rows
// are all newer than its stored values has its buckets computed in Go and
// merged (one statement for all of them); the others — a late or replaced
// value — have their touched buckets recomputed in SQL (refreshRollups).
func updateRollups(ctx context.Context, tx pgx.Tx, rows []row, prevMax map[int64]int64) error {
	var cols mergeCols
	var late []row
	for len(rows) > 0 {
		n := 1
		for n < len(rows) && rows[n].id == rows[0].id {
			n++
		}
		grp := rows[:n]
		rows = rows[n:]
		if prev, seen := prevMax[grp[0].id]; seen && grp[0].ts <= prev {
			late = append(late, grp...)
			continue
		}
		cols.add(grp)
	}
	if len(cols.dp) > 0 {
		if _, err := tx.Exec(ctx, mergeBuckets, cols.dp, cols.res, cols.b, cols.n, cols.sum, cols.mn, cols.mx,
			cols.ft, cols.fv, cols.lt, cols.lv, cols.e); err != nil {
			return fmt.Errorf("merge %d rollup buckets: %w", len(cols.dp), err)
		}
	}
	if len(late) > 0 {
		return refreshRollups(ctx, tx, late)
	}
	return nil
}

// mergeCols are buckets as the column arrays mergeBuckets takes.
type mergeCols struct {
	dp                     []int32
	res, b, n, ft, lt      []int64
	sum, mn, mx, fv, lv, e []float64
}

// add appends the buckets of every level made of the good numbers of one
// datapoint's rows (in time order).
func (c *mergeCols) add(rows []row) {
	for _, res := range samples.RollupRes {
		bl := samples.BucketList{IV: res}
		for i := range rows {
			if f, ok := rows[i].num.(float64); ok && rows[i].kind == samples.KindNumber && rows[i].q == samples.QGood {
				bl.Add(rows[i].ts, samples.Single(rows[i].ts, f))
			}
		}
		for _, x := range bl.Out {
			a := &x.A
			c.dp, c.res, c.b = append(c.dp, int32(rows[0].id)), append(c.res, res), append(c.b, x.B)
			c.n, c.sum, c.mn, c.mx = append(c.n, a.N), append(c.sum, a.Sum), append(c.mn, a.Mn), append(c.mx, a.Mx)
			c.ft, c.fv, c.lt, c.lv, c.e = append(c.ft, a.FT), append(c.fv, a.FV), append(c.lt, a.LT), append(c.lv, a.LV), append(c.e, a.E)
		}
	}
}
