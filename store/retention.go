package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
)

// Retention is how long each resolution is kept, in the order raw, 1m,
// 15m, 1h, 1d; 0 keeps it forever.
type Retention [1 + len(rollupRes)]time.Duration

// resolutionNames are the keys of store.retention and the values of the
// metric label resolution, in Retention's order.
func resolutionNames() []string { return append([]string{"raw"}, rollupNames[:]...) }

// RetentionConfig is `store.retention`: a duration like 30d, 1y, 12h or
// "forever" per resolution.
type RetentionConfig struct {
	Raw string `yaml:"raw"`
	M1  string `yaml:"1m"`
	M15 string `yaml:"15m"`
	H1  string `yaml:"1h"`
	D1  string `yaml:"1d"`
}

// Forever is the retention that keeps a resolution forever (the default).
const Forever = "forever"

// DefaultRetention keeps every resolution forever.
func DefaultRetention() RetentionConfig {
	return RetentionConfig{Raw: Forever, M1: Forever, M15: Forever, H1: Forever, D1: Forever}
}

// Parse checks every key; errors name the key path under the section.
func (c RetentionConfig) Parse() (Retention, []config.FieldError) {
	var out Retention
	var errs []config.FieldError
	for i, s := range []string{c.Raw, c.M1, c.M15, c.H1, c.D1} {
		d, err := parseAge(s)
		if err != nil {
			errs = append(errs, config.Errf("retention."+resolutionNames()[i], "%v", err))
		}
		out[i] = d
	}
	return out, errs
}

// parseAge reads "forever" (0), a number with unit d (24h), w (7d) or
// y (365d), or a Go duration; anything else, or a non-positive age, fails.
func parseAge(s string) (time.Duration, error) {
	if s == Forever {
		return 0, nil
	}
	units := map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "y": 365 * 24 * time.Hour}
	var d time.Duration
	var err error
	if u, ok := units[s[max(0, len(s)-1):]]; ok {
		var n int64
		n, err = strconv.ParseInt(strings.TrimSpace(s[:len(s)-1]), 10, 32)
		d = time.Duration(n) * u
	} else {
		d, err = time.ParseDuration(s)
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a retention (like 30d, 1y, 12h or forever)", s)
	case d <= 0:
		return 0, fmt.Errorf("%q: must be positive (or forever)", s)
	}
	return d, nil
}

// retainBatch is the most rows one retention transaction deletes, so
// ingest never waits long for the write lock.
const retainBatch = 10_000

// defaultRetainEvery is how often Run applies retention.
const defaultRetainEvery = time.Minute

// sizeEvery is how often the row and oldest-sample gauges are refreshed:
// counting raw rows reads the whole table (on a read connection).
const sizeEvery = 5 * time.Minute

// applyRetention deletes, for every datapoint, the raw values older than
// now minus the raw retention and the rollup buckets that ended before now
// minus their resolution's retention, retainBatch rows per transaction.
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
	q := `DELETE FROM samples WHERE dp = ?1 AND ts IN
		(SELECT ts FROM samples WHERE dp = ?1 AND ts < ?2 ORDER BY ts LIMIT ?3)`
	args := []any{id, cutoff, retainBatch}
	if i > 0 {
		res := rollupRes[i-1]
		q = `DELETE FROM rollups WHERE dp = ?1 AND res = ?4 AND b IN
			(SELECT b FROM rollups WHERE dp = ?1 AND res = ?4 AND b <= ?2 ORDER BY b LIMIT ?3)`
		args = []any{id, cutoff - res, retainBatch, res}
	}
	var total int64
	for {
		n, err := s.execLocked(ctx, q, args...)
		total += n
		if err != nil || n < retainBatch || ctx.Err() != nil {
			return total, err
		}
	}
}

// execLocked runs one statement in its own transaction under the write lock.
func (s *Store) execLocked(ctx context.Context, q string, args ...any) (int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	res, err := s.wdb.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// retain applies retention and refreshes the size metrics every tick until
// ctx is done. Run starts it and waits for it.
func (s *Store) retain(ctx context.Context) {
	every := s.opts.retainEvery
	if every <= 0 {
		every = defaultRetainEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var sized time.Time
	for {
		if n, err := s.applyRetention(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Warn("retention failed; trying again at the next tick", "err", err)
		} else if n > 0 {
			s.log.Debug("retention deleted rows", "rows", n)
		}
		if time.Since(sized) >= max(every, sizeEvery) {
			sized = time.Now()
			if err := s.updateSizeMetrics(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("store size metrics", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// updateSizeMetrics sets the rows and oldest-sample gauges per resolution
// and the file size, reading on the read pool (never blocking ingest).
func (s *Store) updateSizeMetrics(ctx context.Context) error {
	ids, err := s.datapointIDs(ctx)
	if err != nil {
		return err
	}
	for i, name := range resolutionNames() {
		countQ, minQ := "SELECT count(*) FROM samples", "SELECT min(ts) FROM samples WHERE dp = ?"
		if i > 0 {
			cond := fmt.Sprintf(" res = %d", rollupRes[i-1])
			countQ, minQ = "SELECT count(*) FROM rollups WHERE"+cond, "SELECT min(b) FROM rollups WHERE dp = ? AND"+cond
		}
		var n int64
		if err := s.rdb.QueryRowContext(ctx, countQ).Scan(&n); err != nil {
			return fmt.Errorf("count %s rows: %w", name, err)
		}
		s.met.rows.WithLabelValues(name).Set(float64(n))
		oldest, ok, err := s.oldest(ctx, ids, minQ)
		if err != nil {
			return fmt.Errorf("oldest %s row: %w", name, err)
		}
		if ok {
			s.met.oldest.WithLabelValues(name).Set(float64(oldest) / 1000)
		}
	}
	if fi, err := os.Stat(filepath.Join(s.opts.Path, FileName)); err == nil {
		s.met.fileSize.Set(float64(fi.Size()))
	}
	return nil
}

// oldest is the smallest answer of the min() query q over every datapoint
// (one index lookup each; a min over all datapoints would scan the table).
func (s *Store) oldest(ctx context.Context, ids []int64, q string) (int64, bool, error) {
	var out int64
	var found bool
	for _, id := range ids {
		var v sql.NullInt64
		if err := s.rdb.QueryRowContext(ctx, q, id).Scan(&v); err != nil {
			return 0, false, err
		}
		if v.Valid && (!found || v.Int64 < out) {
			out, found = v.Int64, true
		}
	}
	return out, found, nil
}
