// Package postgres is gridbox's history store in PostgreSQL: the same sink
// as the embedded SQLite store (package store) — every value from the bus is
// written in batches, the newest value of each datapoint is restored at
// start, and history is answered raw or aggregated per time bucket, with the
// same answers as the SQLite store (the shared contract suite in
// store/storetest runs against both). Batches go in with COPY. When the
// TimescaleDB extension can be created, samples is a hypertable.
//
// It depends on model, bus and sink only, never on package store (which
// selects it when `store.url` is set), so there is no import cycle.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/gridbox/gridbox/store/samples"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied by Open to zero options; the same as the SQLite store's.
const (
	DefaultBatchSize     = 5000
	DefaultFlushInterval = 500 * time.Millisecond
)

// MaxRows caps one History answer, exactly like store.MaxRows: both are
// samples.MaxRows (the store package's contract test checks that they are equal).
const MaxRows = samples.MaxRows

// writeTimeout bounds one batch write, so that a server that stopped
// answering cannot hold up the Run loop (or a shutdown) forever.
const writeTimeout = 30 * time.Second

// connectTimeout is used when the URL sets no connect_timeout.
const connectTimeout = 10 * time.Second

// Options configure a Store.
type Options struct {
	URL           string                // postgres://user:pass@host:5432/db?sslmode=disable
	BatchSize     int                   // max values per transaction; 0 means DefaultBatchSize
	FlushInterval time.Duration         // max time a value waits before it is written; 0 means DefaultFlushInterval
	Log           *slog.Logger          // nil discards logs
	Metrics       prometheus.Registerer // nil registers no metrics
	Units         samples.UnitOf        // the catalog's units, for agg=energy; nil takes every datapoint as W
	Retention     Retention             // per resolution; zero keeps it forever

	retainEvery time.Duration // tests shorten it; 0 means defaultRetainEvery
}

// Store is an open PostgreSQL history. It is safe for concurrent use; Run
// must have returned before Close is called.
type Store struct {
	opts      Options
	log       *slog.Logger
	met       *samples.Metrics
	size      sizeMetrics
	pool      *pgxpool.Pool
	timescale bool // samples is a TimescaleDB hypertable

	wmu       sync.Mutex      // serialises writes, guards maxTS
	maxTS     map[int64]int64 // newest stored ts per datapoint id, filled on first write
	ids       samples.IDs
	closeOnce sync.Once
}

// CheckURL reports whether u is a PostgreSQL connection URL that the store
// can use; config validation calls it. It never contacts the server.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if p.Scheme != "postgres" && p.Scheme != "postgresql" {
		return fmt.Errorf("scheme %q: want postgres:// or postgresql://", p.Scheme)
	}
	if _, err := pgxpool.ParseConfig(u); err != nil {
		return redact(err)
	}
	return nil
}

// redact drops pgx's parse error details, which may quote the password.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return fmt.Errorf("invalid connection URL: %s", pe.Unwrap())
	}
	return err
}

// Redacted returns u with its password replaced by "xxxxx", for logs.
func Redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(invalid URL)"
	}
	return p.Redacted()
}

// Open connects to the database, migrates the schema (making samples a
// hypertable when TimescaleDB is available) and returns a Store ready for
// writes and queries. An unreachable server is an error here.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.URL == "" {
		return nil, errors.New("postgres: url is empty")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", redact(err))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{opts: o, log: log, pool: pool, maxTS: map[int64]int64{}}
	if err := s.setup(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %s: %w", Redacted(o.URL), err)
	}
	met, err := samples.NewMetrics(o.Metrics)
	if err == nil {
		s.size, err = newSizeMetrics(o.Metrics)
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: register metrics: %w", err)
	}
	s.met = met
	return s, nil
}

// setup checks the connection, enables TimescaleDB if it can, migrates the
// schema and loads the datapoint ids.
func (s *Store) setup(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	s.timescale = s.enableTimescale(ctx)
	if err := migrate(ctx, s.pool); err != nil {
		return err
	}
	if s.timescale {
		if err := makeHypertable(ctx, s.pool); err != nil {
			s.log.Warn("TimescaleDB is installed but samples could not be made a hypertable; plain tables", "err", err)
			s.timescale = false
		}
	}
	if s.timescale {
		s.log.Info("history in PostgreSQL: samples is a TimescaleDB hypertable")
	} else {
		s.log.Info("history in PostgreSQL: plain tables (TimescaleDB is not available)")
	}
	if err := s.buildPending(ctx); err != nil {
		return err
	}
	return loadIDs(ctx, s.pool, &s.ids)
}

// enableTimescale creates the timescaledb extension when the server offers
// it; false (plain tables) when it is not installed or may not be created.
func (s *Store) enableTimescale(ctx context.Context) bool {
	var n int
	// Looking first keeps a server without the extension from logging an error.
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'").Scan(&n); err != nil || n == 0 {
		return false
	}
	if _, err := s.pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS timescaledb"); err != nil {
		s.log.Info("TimescaleDB is installed but cannot be enabled; plain tables", "err", err)
		return false
	}
	return true
}

// Timescale reports whether samples is a TimescaleDB hypertable.
func (s *Store) Timescale() bool { return s.timescale }

// Close flushes nothing (Run writes its buffer when its context is done) and
// closes the connection pool. It may be called more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		s.pool.Close()
	})
	return nil
}

// isCode reports whether err is a PostgreSQL error with SQLSTATE code.
func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
