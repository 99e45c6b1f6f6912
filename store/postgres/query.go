package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/samples"
	"github.com/jackc/pgx/v5"
)

// QueryError is model.QueryError: the API answers it with 400 and the field.
type QueryError = model.QueryError

// LastValues returns the newest stored value of every datapoint, sorted by
// device and name in byte order (as the SQLite store sorts, whatever the
// database's collation), to restore the bus's last values at start.
func (s *Store) LastValues(ctx context.Context) ([]model.Value, error) {
	const q = `SELECT d.device, d.name, s.ts, s.num, s.txt, s.kind, s.q
		FROM datapoints d CROSS JOIN LATERAL (
			SELECT ts, num, txt, kind, q FROM samples WHERE dp = d.id ORDER BY ts DESC LIMIT 1) s
		ORDER BY d.device COLLATE "C", d.name COLLATE "C"`
	rows, err := s.pool.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("postgres: last values: %w", err)
	}
	defer rows.Close()
	out := []model.Value{}
	for rows.Next() {
		var v model.Value
		var c samples.Stored
		if err := rows.Scan(&v.Device, &v.Name, &v.Time, &c.Num, &c.Txt, &c.Kind, &c.Q); err != nil {
			return nil, fmt.Errorf("postgres: last values: %w", err)
		}
		v.Value, v.Quality = c.Value(), c.Quality()
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: last values: %w", err)
	}
	return out, nil
}

// History answers q like the SQLite store: raw values ordered by time when
// q.Interval is 0, otherwise one aggregated sample per non-empty bucket. A
// datapoint the store never kept a value of is model.ErrNoHistory. Bad
// queries fail with a *QueryError.
func (s *Store) History(ctx context.Context, q model.HistoryQuery) ([]model.Sample, error) {
	if err := samples.CheckQuery(q); err != nil {
		return nil, err
	}
	id, err := s.lookupID(ctx, samples.Key{Device: q.Device, Name: q.Name})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", model.Key(q.Device, q.Name), err)
	}
	limit := samples.Limit(q)
	var out []model.Sample
	if q.Interval == 0 {
		out, err = s.raw(ctx, id, q.From, q.To, limit)
	} else {
		out, err = s.aggregate(ctx, id, q, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: history of %s: %w", model.Key(q.Device, q.Name), err)
	}
	if err := samples.CheckAnswer(q, len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// lookupID finds a datapoint's id in the cache or, for one another gateway
// sharing the database created, in the datapoints table.
func (s *Store) lookupID(ctx context.Context, k samples.Key) (int64, error) {
	if id, ok := s.ids.Get(k); ok {
		return id, nil
	}
	var id int64
	err := s.pool.QueryRow(ctx, "SELECT id FROM datapoints WHERE device = $1 AND name = $2", k.Device, k.Name).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, model.ErrNoHistory
	}
	if err != nil {
		return 0, err
	}
	s.ids.Add(map[samples.Key]int64{k: id})
	return id, nil
}

func (s *Store) raw(ctx context.Context, id, from, to int64, limit int) ([]model.Sample, error) {
	const q = `SELECT ts, num, txt, kind, q FROM samples
		WHERE dp = $1 AND ts BETWEEN $2 AND $3 ORDER BY ts LIMIT $4`
	rows, err := s.pool.Query(ctx, q, id, from, to, limit)
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

// aggSQL is the select expression of each aggregation; all are float8.
// first and last take num of the row with the earliest / latest ts of the
// bucket (ts is unique per datapoint, so that row is unique).
var aggSQL = map[string]string{
	"mean":  "avg(num)",
	"min":   "min(num)",
	"max":   "max(num)",
	"sum":   "sum(num)",
	"count": "count(num)::float8",
	"first": "(array_agg(num ORDER BY ts))[1]",
	"last":  "(array_agg(num ORDER BY ts DESC))[1]",
}

// aggregateSQL groups good numeric values into buckets starting at
// floor(ts / interval) × interval ms — the SQLite store's bucket expression,
// which floors negative timestamps too (integer % truncates toward zero);
// empty buckets produce no row.
func (s *Store) aggregateSQL(ctx context.Context, id int64, q model.HistoryQuery, limit int) ([]model.Sample, error) {
	iv := q.Interval.Milliseconds()
	query := fmt.Sprintf(`SELECT b, %s FROM (
			SELECT ts - (((ts %% $1) + $1) %% $1) AS b, ts, num FROM samples
			WHERE dp = $2 AND ts BETWEEN $3 AND $4 AND q = %d AND kind = %d AND num IS NOT NULL) v
		GROUP BY b ORDER BY b LIMIT $5`, aggSQL[q.Agg], samples.QGood, samples.KindNumber)
	rows, err := s.pool.Query(ctx, query, iv, id, q.From, q.To, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []model.Sample{}
	for rows.Next() {
		var b int64
		var v float64
		if err := rows.Scan(&b, &v); err != nil {
			return nil, err
		}
		out = append(out, model.Sample{Time: b, Value: v, Quality: model.Good})
	}
	return out, rows.Err()
}
