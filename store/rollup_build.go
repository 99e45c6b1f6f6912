package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// buildPending builds the rollups of a store that has raw values but no
// rollups yet (migration 2 marks it), one transaction per datapoint and
// day of values, then clears the mark. An interrupted build starts again
// at the next open; rebuilding a day replaces its buckets, so that is safe.
func (s *Store) buildPending(ctx context.Context) error {
	var pending int
	err := s.wdb.QueryRowContext(ctx, "SELECT value FROM store_meta WHERE key = 'rollups_pending'").Scan(&pending)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && pending == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read rollup state: %w", err)
	}
	ids, err := s.datapointIDs(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	var days int
	for _, id := range ids {
		n, err := s.buildDatapoint(ctx, id)
		if err != nil {
			return fmt.Errorf("build rollups of datapoint %d: %w", id, err)
		}
		days += n
	}
	if days > 0 {
		s.log.Info("rollups built from raw values", "datapoints", len(ids), "days", days, "took", time.Since(start).Round(time.Millisecond))
	}
	if _, err := s.wdb.ExecContext(ctx, "DELETE FROM store_meta WHERE key = 'rollups_pending'"); err != nil {
		return fmt.Errorf("clear rollup state: %w", err)
	}
	return nil
}

func (s *Store) datapointIDs(ctx context.Context) ([]int64, error) {
	rows, err := s.wdb.QueryContext(ctx, "SELECT id FROM datapoints ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list datapoints: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list datapoints: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// buildDatapoint rebuilds the rollups of one datapoint a day at a time,
// skipping days without values; it returns the number of days built.
func (s *Store) buildDatapoint(ctx context.Context, id int64) (int, error) {
	day := rollupRes[len(rollupRes)-1]
	var days int
	for from := int64(math.MinInt64); ; days++ {
		var next sql.NullInt64
		if err := s.wdb.QueryRowContext(ctx, "SELECT min(ts) FROM samples WHERE dp = ? AND ts >= ?", id, from).Scan(&next); err != nil {
			return days, fmt.Errorf("find values: %w", err)
		}
		if !next.Valid {
			return days, nil
		}
		d := floorTo(next.Int64, day)
		if err := s.buildDay(ctx, id, d); err != nil {
			return days, fmt.Errorf("day %s: %w", time.UnixMilli(d).UTC().Format(time.DateOnly), err)
		}
		if d > math.MaxInt64-day {
			return days + 1, nil
		}
		from = d + day
	}
}

// buildDay recomputes every level's buckets of one day in one transaction.
func (s *Store) buildDay(ctx context.Context, id, d int64) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	w := &rollupWriter{ctx: ctx, tx: tx, dp: id}
	if err := w.refresh(0, []span{{First: d, Last: endOf(d, rollupRes[len(rollupRes)-1]) - rollupRes[0] + 1}}); err != nil {
		return err
	}
	return tx.Commit()
}
