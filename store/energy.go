package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/samples"
)

// energy turns the buckets of an energy query into its answer (Wh per
// bucket, samples.Energy), with the good values next to the range read
// from raw values and rollups.
func (s *Store) energy(ctx context.Context, id int64, q model.HistoryQuery, bs []bucket, limit int) ([]model.Sample, error) {
	scale, err := samples.EnergyScale(s.opts.Units, q)
	if err != nil {
		return nil, err
	}
	before, err := s.neighbour(ctx, id, q.From, true)
	if err != nil {
		return nil, err
	}
	after, err := s.neighbour(ctx, id, q.To, false)
	if err != nil {
		return nil, err
	}
	return samples.Energy(bs, before, after, q.From, q.To, q.Interval.Milliseconds(), scale, limit), nil
}

// neighbour is the newest good value before ts (before) or the oldest
// after it (!before); nil if there is none. Raw values are asked first;
// rollups hold what retention deleted from raw, so each level is asked
// too and the nearest answer wins.
func (s *Store) neighbour(ctx context.Context, id, ts int64, before bool) (*samples.Point, error) {
	good := fmt.Sprintf("q = %d AND kind = %d AND num IS NOT NULL", samples.QGood, samples.KindNumber)
	queries := []string{
		`SELECT ts, num FROM samples WHERE dp = ?1 AND ts > ?2 AND ` + good + ` ORDER BY ts LIMIT 1`,
		`SELECT ft, fv FROM rollups WHERE dp = ?1 AND res = ?3 AND b > ?2 - ?3 AND ft > ?2 ORDER BY b LIMIT 1`,
	}
	if before {
		queries = []string{
			`SELECT ts, num FROM samples WHERE dp = ?1 AND ts < ?2 AND ` + good + ` ORDER BY ts DESC LIMIT 1`,
			`SELECT lt, lv FROM rollups WHERE dp = ?1 AND res = ?3 AND b < ?2 AND lt < ?2 ORDER BY b DESC LIMIT 1`,
		}
	}
	var best *samples.Point
	try := func(query string, args ...any) error {
		var p samples.Point
		err := s.rdb.QueryRowContext(ctx, query, args...).Scan(&p.T, &p.V)
		if errors.Is(err, sql.ErrNoRows) {
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
	for _, r := range rollupRes {
		if err := try(queries[1], id, ts, r); err != nil {
			return nil, err
		}
	}
	return best, nil
}
