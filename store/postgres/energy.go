package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/samples"
	"github.com/jackc/pgx/v5"
)

// aggregate answers an aggregated query like the SQLite store: from
// rollups where the interval allows it (samples.Plan: whole buckets of the
// coarsest resolution dividing the interval, the cut edges from finer ones
// and raw values) and from raw values elsewhere, in one ordered pass. An
// interval no resolution divides is grouped in SQL (aggregateSQL), except
// for energy, which is always computed in Go (samples.Energy).
func (s *Store) aggregate(ctx context.Context, id int64, q model.HistoryQuery, limit int) ([]model.Sample, error) {
	iv := q.Interval.Milliseconds()
	top := samples.Coarsest(iv)
	energy := q.Agg == samples.AggEnergy
	if top < 0 && !energy {
		return s.aggregateSQL(ctx, id, q, limit)
	}
	scale := 1.0
	if energy {
		var err error
		if scale, err = samples.EnergyScale(s.opts.Units, q); err != nil {
			return nil, err
		}
	}
	bl := samples.BucketList{IV: iv, Max: limit}
	if energy {
		bl.Max++ // the first value after the last answered bucket ends its line
	}
	more := true
	add := func(k int64, a samples.Acc) bool { more = bl.Add(k, a); return more }
	for _, sg := range samples.Plan(q.From, q.To, top, nil) {
		var err error
		if sg.Level < 0 {
			err = s.scan(ctx, `SELECT ts, 1::bigint, num, num, num, ts, num, ts, num, 0::float8 FROM samples
				WHERE dp = $1 AND ts BETWEEN $2 AND $3 AND `+goodCond+` ORDER BY ts`, add, id, sg.From, sg.To)
		} else {
			err = s.scan(ctx, `SELECT b, n, sum, mn, mx, ft, fv, lt, lv, e FROM rollups
				WHERE dp = $1 AND res = $4 AND b BETWEEN $2 AND $3 ORDER BY b`, add, id, sg.From, sg.To, samples.RollupRes[sg.Level])
		}
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	if energy {
		before, err := s.neighbour(ctx, id, q.From, true)
		if err != nil {
			return nil, err
		}
		after, err := s.neighbour(ctx, id, q.To, false)
		if err != nil {
			return nil, err
		}
		return samples.Energy(bl.Out, before, after, q.From, q.To, iv, scale, limit), nil
	}
	out := make([]model.Sample, len(bl.Out))
	for i := range bl.Out {
		out[i] = model.Sample{Time: bl.Out[i].B, Value: bl.Out[i].A.Value(q.Agg), Quality: model.Good}
	}
	return out, nil
}

// scan feeds the rows of query — a key and an aggregate's columns, in key
// order — to fn until it returns false.
func (s *Store) scan(ctx context.Context, query string, fn func(int64, samples.Acc) bool, args ...any) error {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k int64
		var a samples.Acc
		if err := rows.Scan(&k, &a.N, &a.Sum, &a.Mn, &a.Mx, &a.FT, &a.FV, &a.LT, &a.LV, &a.E); err != nil {
			return err
		}
		if !fn(k, a) {
			break
		}
	}
	return rows.Err()
}

// neighbour is the newest good value before ts (before) or the oldest
// after it (!before); nil if there is none. Raw values are asked first;
// rollups hold what was deleted from raw, so each level is asked too and
// the nearest answer wins (as in the SQLite store).
func (s *Store) neighbour(ctx context.Context, id, ts int64, before bool) (*samples.Point, error) {
	queries := [2]string{
		`SELECT ts, num FROM samples WHERE dp = $1 AND ts > $2 AND ` + goodCond + ` ORDER BY ts LIMIT 1`,
		`SELECT ft, fv FROM rollups WHERE dp = $1 AND res = $3 AND b > $2 - $3 AND ft > $2 ORDER BY b LIMIT 1`,
	}
	if before {
		queries = [2]string{
			`SELECT ts, num FROM samples WHERE dp = $1 AND ts < $2 AND ` + goodCond + ` ORDER BY ts DESC LIMIT 1`,
			`SELECT lt, lv FROM rollups WHERE dp = $1 AND res = $3 AND b < $2 AND lt < $2 ORDER BY b DESC LIMIT 1`,
		}
	}
	var best *samples.Point
	try := func(query string, args ...any) error {
		var p samples.Point
		err := s.pool.QueryRow(ctx, query, args...).Scan(&p.T, &p.V)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("value next to %d: %w", ts, err)
		}
		if best == nil || (before && p.T > best.T) || (!before && p.T < best.T) {
			best = &p
		}
		return nil
	}
	if err := try(queries[0], id, ts); err != nil {
		return nil, err
	}
	for _, r := range samples.RollupRes {
		if err := try(queries[1], id, ts, r); err != nil {
			return nil, err
		}
	}
	return best, nil
}
