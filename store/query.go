package store

import (
	"context"
	"fmt"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/samples"
)

// MaxRows caps one History answer. A query without Limit whose answer would
// be longer fails with a QueryError on "limit" instead of being truncated
// silently; a Limit above MaxRows is refused the same way. The PostgreSQL
// store has the same cap: both are samples.MaxRows.
const MaxRows = samples.MaxRows

// QueryError is model.QueryError: the API answers it with 400 and the field.
type QueryError = model.QueryError

// LastValues returns the newest stored value of every datapoint, sorted by
// device and name, to restore the bus's last values at start.
func (s *Store) LastValues(ctx context.Context) ([]model.Value, error) {
	const q = `SELECT d.device, d.name, s.ts, s.num, s.txt, s.kind, s.q
		FROM datapoints d JOIN samples s
		  ON s.dp = d.id AND s.ts = (SELECT max(ts) FROM samples WHERE dp = d.id)
		ORDER BY d.device, d.name`
	rows, err := s.rdb.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("store: last values: %w", err)
	}
	defer rows.Close()
	out := []model.Value{}
	for rows.Next() {
		var v model.Value
		var c samples.Stored
		if err := rows.Scan(&v.Device, &v.Name, &v.Time, &c.Num, &c.Txt, &c.Kind, &c.Q); err != nil {
			return nil, fmt.Errorf("store: last values: %w", err)
		}
		v.Value, v.Quality = c.Value(), c.Quality()
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: last values: %w", err)
	}
	return out, nil
}

// History answers q: raw values ordered by time when q.Interval is 0,
// otherwise one aggregated sample per non-empty bucket, from rollups
// where possible (see aggregate).
// A datapoint the store never kept a value of is model.ErrNoHistory. Bad
// queries fail with a *QueryError.
func (s *Store) History(ctx context.Context, q model.HistoryQuery) ([]model.Sample, error) {
	if err := samples.CheckQuery(q); err != nil {
		return nil, err
	}
	id, ok := s.ids.Get(samples.Key{Device: q.Device, Name: q.Name})
	if !ok {
		return nil, fmt.Errorf("store: %s: %w", model.Key(q.Device, q.Name), model.ErrNoHistory)
	}
	limit := samples.Limit(q)
	var out []model.Sample
	var err error
	if q.Interval == 0 {
		out, err = s.raw(ctx, id, q.From, q.To, limit)
	} else {
		out, err = s.aggregate(ctx, id, q, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("store: history of %s: %w", model.Key(q.Device, q.Name), err)
	}
	if err := samples.CheckAnswer(q, len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) raw(ctx context.Context, id, from, to int64, limit int) ([]model.Sample, error) {
	const q = `SELECT ts, num, txt, kind, q FROM samples
		WHERE dp = ? AND ts BETWEEN ? AND ? ORDER BY ts LIMIT ?`
	rows, err := s.rdb.QueryContext(ctx, q, id, from, to, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []model.Sample{}
	for rows.Next() {
		var smp model.Sample
		var c samples.Stored
		if err := rows.Scan(&smp.Time, &c.Num, &c.Txt, &c.Kind, &c.Q); err != nil {
			return nil, err
		}
		smp.Value, smp.Quality = c.Value(), c.Quality()
		out = append(out, smp)
	}
	return out, rows.Err()
}

// aggSQL is the select expression of each aggregation. first and last use
// SQLite's bare-column rule: with a single min()/max() aggregate, num is
// taken from the row holding the minimum/maximum ts of the bucket.
var aggSQL = map[string]string{
	"mean":  "avg(num)",
	"min":   "min(num)",
	"max":   "max(num)",
	"sum":   "sum(num)",
	"count": "count(num)",
	"first": "num, min(ts)",
	"last":  "num, max(ts)",
}

// aggregateSQL groups good numeric values into buckets starting at
// floor(ts / interval) × interval ms in SQL; empty buckets produce no row.
// It was the only aggregation before rollups (rollup_query.go) and stays
// as their reference: tests and the rollup bench compare against it.
func (s *Store) aggregateSQL(ctx context.Context, id int64, q model.HistoryQuery, limit int) ([]model.Sample, error) {
	iv := q.Interval.Milliseconds()
	// The bucket expression floors also for negative timestamps.
	query := fmt.Sprintf(`SELECT b, %s FROM (
			SELECT ts - (((ts %% ?1) + ?1) %% ?1) AS b, ts, num FROM samples
			WHERE dp = ?2 AND ts BETWEEN ?3 AND ?4 AND q = %d AND kind = %d AND num IS NOT NULL)
		GROUP BY b ORDER BY b LIMIT ?5`, aggSQL[q.Agg], samples.QGood, samples.KindNumber)
	rows, err := s.rdb.QueryContext(ctx, query, iv, id, q.From, q.To, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []model.Sample{}
	for rows.Next() {
		var b int64
		var v float64
		dest := []any{&b, &v}
		if q.Agg == "first" || q.Agg == "last" {
			dest = append(dest, new(int64))
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, model.Sample{Time: b, Value: v, Quality: model.Good})
	}
	return out, rows.Err()
}
