package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridbox/gridbox/model"
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
		var c cols
		if err := rows.Scan(&v.Device, &v.Name, &v.Time, &c.num, &c.txt, &c.kind, &c.q); err != nil {
			return nil, fmt.Errorf("postgres: last values: %w", err)
		}
		v.Value, v.Quality = c.value(), c.quality()
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
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	id, err := s.lookupID(ctx, dpKey{q.Device, q.Name})
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", model.Key(q.Device, q.Name), err)
	}
	limit := q.Limit
	if limit == 0 {
		limit = MaxRows + 1 // one more to tell "exactly MaxRows" from "too many"
	}
	var out []model.Sample
	if q.Interval == 0 {
		out, err = s.raw(ctx, id, q.From, q.To, limit)
	} else {
		out, err = s.aggregate(ctx, id, q, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: history of %s: %w", model.Key(q.Device, q.Name), err)
	}
	if q.Limit == 0 && len(out) > MaxRows {
		return nil, &QueryError{Field: "limit", Msg: fmt.Sprintf(
			"limit: answer has more than %d samples; narrow from/to, use a larger interval or set limit", MaxRows)}
	}
	return out, nil
}

// lookupID finds a datapoint's id in the cache or, for one another gateway
// sharing the database created, in the datapoints table.
func (s *Store) lookupID(ctx context.Context, k dpKey) (int64, error) {
	if id, ok := s.ids.get(k); ok {
		return id, nil
	}
	var id int64
	err := s.pool.QueryRow(ctx, "SELECT id FROM datapoints WHERE device = $1 AND name = $2", k.device, k.name).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, model.ErrNoHistory
	}
	if err != nil {
		return 0, err
	}
	s.ids.add(map[dpKey]int64{k: id})
	return id, nil
}

// checkQuery validates q with model's Check and the store's own limits
// (the same as the SQLite store's).
func checkQuery(q model.HistoryQuery) error {
	if err := q.Check(); err != nil {
		return err
	}
	switch {
	case q.Limit > MaxRows:
		return &QueryError{Field: "limit", Msg: fmt.Sprintf("limit %d is above the maximum %d", q.Limit, MaxRows)}
	case q.Interval%time.Millisecond != 0:
		return &QueryError{Field: "interval", Msg: fmt.Sprintf("interval %s is not a whole number of milliseconds", q.Interval)}
	}
	return nil
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
		var c cols
		if err := rows.Scan(&smp.Time, &c.num, &c.txt, &c.kind, &c.q); err != nil {
			return nil, err
		}
		smp.Value, smp.Quality = c.value(), c.quality()
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

// aggregate groups good numeric values into buckets starting at
// floor(ts / interval) × interval ms — the SQLite store's bucket expression,
// which floors negative timestamps too (integer % truncates toward zero);
// empty buckets produce no row.
func (s *Store) aggregate(ctx context.Context, id int64, q model.HistoryQuery, limit int) ([]model.Sample, error) {
	iv := q.Interval.Milliseconds()
	query := fmt.Sprintf(`SELECT b, %s FROM (
			SELECT ts - (((ts %% $1) + $1) %% $1) AS b, ts, num FROM samples
			WHERE dp = $2 AND ts BETWEEN $3 AND $4 AND q = %d AND kind = %d AND num IS NOT NULL) v
		GROUP BY b ORDER BY b LIMIT $5`, aggSQL[q.Agg], qGood, kindNumber)
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

// cols are the stored columns of one value.
type cols struct {
	num  *float64
	txt  *string
	kind int16
	q    int16
}

// value rebuilds the JSON-typed value. A number stored as NULL was NaN,
// which JSON cannot carry; it comes back as null.
func (c *cols) value() any {
	switch c.kind {
	case kindNumber:
		if c.num != nil {
			return *c.num
		}
	case kindString:
		if c.txt != nil {
			return *c.txt
		}
		return ""
	case kindBool:
		return c.num != nil && *c.num != 0
	}
	return nil
}

func (c *cols) quality() model.Quality {
	switch c.q {
	case qStale:
		return model.Stale
	case qBad:
		return model.Bad
	}
	return model.Good
}
