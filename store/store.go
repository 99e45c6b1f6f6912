// Package store is gridbox's embedded history store: every value from the bus
// is written in batches to a SQLite database (pure Go, WAL mode), the newest
// value of each datapoint is restored at start, and history is queried raw or
// aggregated per time bucket.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gridbox/gridbox/store/samples"
	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the name of the database file inside Options.Path.
const FileName = "gridbox.db"

// Defaults applied by Open to zero options.
const (
	DefaultBatchSize     = 5000                   // values per transaction
	DefaultFlushInterval = 500 * time.Millisecond // at most 1 s unflushed (docs/store-sqlite.md, "Durability")
)

// defaultBusyTimeout is how long a connection waits for a lock held by
// another connection (e.g. a sqlite3 CLI session) before failing with
// SQLITE_BUSY.
const defaultBusyTimeout = 5 * time.Second

// readConns bounds the read pool; WAL lets readers run beside the writer.
const readConns = 4

// Options configure a Store.
type Options struct {
	Path          string                // directory; the DB file is <Path>/gridbox.db
	BatchSize     int                   // max values per transaction; 0 means DefaultBatchSize
	FlushInterval time.Duration         // max time a value waits before it is written; 0 means DefaultFlushInterval
	Log           *slog.Logger          // nil discards logs
	Metrics       prometheus.Registerer // nil registers no metrics
	Retention     Retention             // per resolution; zero keeps it forever
	Units         samples.UnitOf        // the catalog's units, for agg=energy; nil takes every datapoint as W

	busyTimeout time.Duration // tests shorten it; 0 means defaultBusyTimeout
	retainEvery time.Duration // tests shorten it; 0 means defaultRetainEvery
}

// Store is an open history database. It is safe for concurrent use; Run
// must have returned before Close is called.
type Store struct {
	opts Options
	log  *slog.Logger
	met  *metrics
	wdb  *sql.DB // exactly one connection: SQLite allows one writer
	rdb  *sql.DB // read pool, query_only

	wmu   sync.Mutex // serialises writes and guards stmts and maxTS
	stmts map[insertKey]*sql.Stmt
	maxTS map[int64]int64 // newest stored ts per datapoint id, filled on first write
	merge mergeStmts      // prepared rollup merges (rollup.go)
	ids   samples.IDs
}

// Open creates the directory and database if needed, migrates the schema and
// returns a Store ready for writes and queries.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Path == "" {
		return nil, errors.New("store: path is empty")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.busyTimeout <= 0 {
		o.busyTimeout = defaultBusyTimeout
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(o.Path, 0o755); err != nil {
		return nil, fmt.Errorf("store: create directory %s: %w", o.Path, err)
	}
	file := filepath.Join(o.Path, FileName)
	s := &Store{opts: o, log: log, stmts: map[insertKey]*sql.Stmt{}, maxTS: map[int64]int64{}}
	if err := s.openDBs(ctx, file); err != nil {
		return nil, err
	}
	met, err := newMetrics(o.Metrics)
	if err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("store: register metrics: %w", err)
	}
	s.met = met
	return s, nil
}

// openDBs opens the writer, migrates the schema, loads the id cache and
// opens the read pool.
func (s *Store) openDBs(ctx context.Context, file string) error {
	wdb, err := sql.Open("sqlite", dsn(file, false, s.opts.busyTimeout))
	if err != nil {
		return fmt.Errorf("store: open %s: %w", file, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	s.wdb = wdb
	if err := migrate(ctx, wdb); err != nil {
		wdb.Close()
		return fmt.Errorf("store: %s: %w", file, err)
	}
	if err := s.buildPending(ctx); err != nil {
		wdb.Close()
		return fmt.Errorf("store: %s: %w", file, err)
	}
	if err := loadIDs(ctx, wdb, &s.ids); err != nil {
		wdb.Close()
		return fmt.Errorf("store: %s: load datapoint ids: %w", file, err)
	}
	if s.merge, err = prepareMerge(ctx, wdb); err != nil {
		wdb.Close()
		return fmt.Errorf("store: %s: %w", file, err)
	}
	rdb, err := sql.Open("sqlite", dsn(file, true, s.opts.busyTimeout))
	if err != nil {
		s.merge.close()
		wdb.Close()
		return fmt.Errorf("store: open %s for reading: %w", file, err)
	}
	rdb.SetMaxOpenConns(readConns)
	rdb.SetMaxIdleConns(readConns)
	s.rdb = rdb
	return nil
}

// dsn builds the modernc.org/sqlite connection string. The writer sets WAL
// (persistent in the file) and synchronous=NORMAL; readers are query_only.
func dsn(file string, readOnly bool, busy time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "cache_size(-16000)")           // 16 MB page cache
		q.Add("_pragma", "temp_store(MEMORY)")           // statement journals in RAM, not temp files
		q.Add("_pragma", "wal_autocheckpoint(4096)")     // 16 MB: fewer, better-deduplicated checkpoints
		q.Add("_pragma", "journal_size_limit(67108864)") // truncate a WAL that grew past 64 MB
		q.Set("_txlock", "immediate")
	}
	return file + "?" + q.Encode()
}

// Close closes prepared statements and both connection pools. The last close
// checkpoints the WAL into the database file.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var errs []error
	for n, st := range s.stmts {
		errs = append(errs, st.Close())
		delete(s.stmts, n)
	}
	if s.merge.one != nil {
		errs = append(errs, s.merge.close())
		s.merge = mergeStmts{}
	}
	errs = append(errs, s.closeDBs())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

func (s *Store) closeDBs() error {
	var errs []error
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	return errors.Join(errs...)
}
