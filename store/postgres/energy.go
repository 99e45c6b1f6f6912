package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/samples"
	"github.com/jackc/pgx/v5"
)

// good selects the values aggregates take: good quality, numbers, not NULL.
var good = fmt.Sprintf("q = %d AND kind = %d AND num IS NOT NULL", samples.QGood, samples.KindNumber)

// energy answers agg=energy from raw values in one ordered scan, with the
// shared computation of the SQLite store (samples.Energy).
func (s *Store) energy(ctx context.Context, id int64, q model.HistoryQuery, limit int) ([]model.Sample, error) {
	scale, err := samples.EnergyScale(s.opts.Units, q)
	if err != nil {
		return nil, err
	}
	iv := q.Interval.Milliseconds()
	rows, err := s.pool.Query(ctx, `SELECT ts, num FROM samples WHERE dp = $1 AND ts BETWEEN $2 AND $3 AND `+good+` ORDER BY ts`,
		id, q.From, q.To)
	if err != nil {
		return nil, err
	}
	bl := samples.BucketList{IV: iv, Max: limit + 1}
	for rows.Next() {
		var p samples.Point
		if err := rows.Scan(&p.T, &p.V); err != nil {
			rows.Close()
			return nil, err
		}
		if !bl.Add(p.T, samples.Single(p.T, p.V)) {
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	before, err := s.neighbour(ctx, `SELECT ts, num FROM samples WHERE dp = $1 AND ts < $2 AND `+good+` ORDER BY ts DESC LIMIT 1`, id, q.From)
	if err != nil {
		return nil, err
	}
	after, err := s.neighbour(ctx, `SELECT ts, num FROM samples WHERE dp = $1 AND ts > $2 AND `+good+` ORDER BY ts LIMIT 1`, id, q.To)
	if err != nil {
		return nil, err
	}
	return samples.Energy(bl.Out, before, after, q.From, q.To, iv, scale, limit), nil
}

// neighbour runs a query for one value next to the range; nil if none.
func (s *Store) neighbour(ctx context.Context, query string, id, ts int64) (*samples.Point, error) {
	var p samples.Point
	err := s.pool.QueryRow(ctx, query, id, ts).Scan(&p.T, &p.V)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("value next to %d: %w", ts, err)
	}
	return &p, nil
}
