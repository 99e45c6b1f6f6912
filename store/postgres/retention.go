package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridbox/gridbox/sink"
	"github.com/gridbox/gridbox/store/samples"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Retention is how long each resolution is kept, in the order raw, 1m, 15m,
// 1h, 1d; 0 keeps it forever (the SQLite store's store.Retention).
type Retention = [1 + len(samples.RollupRes)]time.Duration

// retainBatch is the most rows one retention statement deletes, so a
// write never waits long behind it.
const retainBatch = 10_000

// defaultRetainEvery is how often Run applies retention and refreshes the
// size gauges.
const defaultRetainEvery = time.Minute

// resolutionNames label the gauges and name the retention keys.
func resolutionNames() []string { return append([]string{"raw"}, samples.RollupNames[:]...) }

// sizeMetrics are the oldest row per resolution and the tables' size on
// disk (the SQLite store's gauges, with a table label for the size).
type sizeMetrics struct {
	oldest *prometheus.GaugeVec // label resolution
	bytes  *prometheus.GaugeVec // label table
}

func newSizeMetrics(reg prometheus.Registerer) (sizeMetrics, error) {
	m := sizeMetrics{
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gridbox_store_oldest_timestamp_seconds",
			Help: "Time of the oldest raw value or rollup bucket start per resolution (Unix seconds).",
		}, []string{"resolution"}),
		bytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gridbox_store_table_bytes",
			Help: "Disk use of a PostgreSQL store table with its indexes (pg_total_relation_size).",
		}, []string{"table"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.oldest = sink.Register(reg, m.oldest, &err)
	m.bytes = sink.Register(reg, m.bytes, &err)
	return m, err
}

// retain applies retention and refreshes the size gauges every tick until
// ctx is done. Run starts it and waits for it.
func (s *Store) retain(ctx context.Context) {
	every := s.opts.retainEvery
	if every <= 0 {
		every = defaultRetainEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.applyRetention(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("retention failed; trying again at the next tick", "err", err)
		} else if n > 0 {
			s.log.Debug("retention deleted rows", "rows", n)
		}
		if err := s.updateSizeMetrics(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("store size metrics", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// applyRetention deletes, per datapoint, the raw values older than now
// minus the raw retention and the rollup buckets that ended before now
// minus their resolution's retention, retainBatch rows per statement.
func (s *Store) applyRetention(ctx context.Context, now time.Time) (int64, error) {
	ids, err := s.datapointIDs(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for i, age := range s.opts.Retention {
		if age <= 0 {
			continue
		}
		cutoff := now.Add(-age).UnixMilli()
		for _, id := range ids {
			n, err := s.retainOne(ctx, i, id, cutoff)
			total += n
			if err != nil {
				return total, fmt.Errorf("retention of %s, datapoint %d: %w", resolutionNames()[i], id, err)
			}
		}
	}
	return total, nil
}

// retainOne deletes what level i (0 raw) of datapoint id holds before
// cutoff, in batches.
func (s *Store) retainOne(ctx context.Context, i int, id, cutoff int64) (int64, error) {
	q := `DELETE FROM samples WHERE dp = $1 AND ts IN
		(SELECT ts FROM samples WHERE dp = $1 AND ts < $2 ORDER BY ts LIMIT $3)`
	args := []any{id, cutoff, retainBatch}
	if i > 0 {
		res := samples.RollupRes[i-1]
		q = `DELETE FROM rollups WHERE dp = $1 AND res = $4 AND b IN
			(SELECT b FROM rollups WHERE dp = $1 AND res = $4 AND b <= $2 ORDER BY b LIMIT $3)`
		args = []any{id, cutoff - res, retainBatch, res}
	}
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, q, args...)
		total += tag.RowsAffected()
		if err != nil || tag.RowsAffected() < retainBatch || ctx.Err() != nil {
			return total, err
		}
	}
}

func (s *Store) datapointIDs(ctx context.Context) ([]int64, error) {
	rows, err := s.pool.Query(ctx, "SELECT id FROM datapoints ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list datapoints: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("list datapoints: %w", err)
	}
	return ids, nil
}

// updateSizeMetrics sets the oldest-row gauge per resolution (one index
// lookup per datapoint) and the tables' sizes.
func (s *Store) updateSizeMetrics(ctx context.Context) error {
	ids, err := s.datapointIDs(ctx)
	if err != nil {
		return err
	}
	for i, name := range resolutionNames() {
		q, args := "SELECT min(ts) FROM samples WHERE dp = $1", []any{nil}
		if i > 0 {
			q, args = "SELECT min(b) FROM rollups WHERE dp = $1 AND res = $2", []any{nil, samples.RollupRes[i-1]}
		}
		var oldest *int64
		for _, id := range ids {
			args[0] = id
			var v *int64
			if err := s.pool.QueryRow(ctx, q, args...).Scan(&v); err != nil {
				return fmt.Errorf("oldest %s row: %w", name, err)
			}
			if v != nil && (oldest == nil || *v < *oldest) {
				oldest = v
			}
		}
		if oldest != nil {
			s.size.oldest.WithLabelValues(name).Set(float64(*oldest) / 1000)
		} else {
			s.size.oldest.DeleteLabelValues(name)
		}
	}
	for _, table := range []string{"samples", "rollups"} {
		var n int64
		err := s.pool.QueryRow(ctx, "SELECT pg_total_relation_size(to_regclass($1))", table).Scan(&n)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("size of %s: %w", table, err)
		}
		s.size.bytes.WithLabelValues(table).Set(float64(n))
	}
	return nil
}
