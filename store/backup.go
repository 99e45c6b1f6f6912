package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// BackupFormat is the value of backup_meta's "format" key: it marks a file
// as a gridbox backup (docs/store-sqlite.md, "Backup and restore").
const BackupFormat = "gridbox-backup-1"

// lockProbeTimeout is how long Restore waits for the target store's lock.
const lockProbeTimeout = 200 * time.Millisecond

// ErrStoreInUse is returned by Restore when another connection (a running
// gateway, a sqlite3 session) has the target store open.
var ErrStoreInUse = errors.New("the store is in use (is a gateway running on it?): stop it first")

// ErrStoreHasData is returned by Restore when the target store holds data
// and RestoreOptions.Force is not set.
var ErrStoreHasData = errors.New("the store already holds data: restore --force replaces it (the old file is kept as gridbox.db.bak-<time>)")

// BackupInfo is what a backup file records beside the history.
type BackupInfo struct {
	Meta   map[string]string // backup_meta: format, gridbox_version, created, site, source, counts…
	Config map[string][]byte // backup_config: file name → content
}

// Counts are the sizes of a store's tables.
type Counts struct {
	Datapoints, Samples, Rollups int64
	SchemaVersion                int
}

// BackupStats describes a written backup.
type BackupStats struct {
	Counts
	Bytes int64
	Took  time.Duration
}

// Backup writes a consistent copy of the store in directory dir to file dst
// while a gateway may be writing to it: VACUUM INTO a temporary file
// (dst + ".tmp") on a connection of its own, which reads one snapshot of the
// database, then the tables backup_meta and backup_config (info) are added to
// the copy, it is synced and renamed to dst (replacing an existing dst).
func Backup(ctx context.Context, dir, dst string, info BackupInfo) (BackupStats, error) {
	start := time.Now()
	src := filepath.Join(dir, FileName)
	sfi, err := os.Stat(src)
	if err != nil {
		return BackupStats{}, fmt.Errorf("store: backup: %w", err)
	}
	if dfi, err := os.Stat(dst); err == nil && os.SameFile(sfi, dfi) {
		return BackupStats{}, fmt.Errorf("store: backup: %s is the store itself", dst)
	}
	tmp := dst + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return BackupStats{}, fmt.Errorf("store: backup: %w", err)
	}
	db, err := sql.Open("sqlite", plainDSN(src, defaultBusyTimeout))
	if err != nil {
		return BackupStats{}, fmt.Errorf("store: backup: open %s: %w", src, err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return BackupStats{}, fmt.Errorf("store: backup: %s: %w", src, err)
	}
	if v < 1 || v > schemaVersion {
		return BackupStats{}, fmt.Errorf("store: backup: %s: schema version %d is not a gridbox store this version knows (1..%d)", src, v, schemaVersion)
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.Remove(tmp)
		return BackupStats{}, fmt.Errorf("store: backup: VACUUM INTO %s: %w", tmp, err)
	}
	db.Close()
	st, err := finishBackup(ctx, tmp, info)
	if err != nil {
		os.Remove(tmp)
		return BackupStats{}, fmt.Errorf("store: backup: %s: %w", tmp, err)
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return BackupStats{}, fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return BackupStats{}, fmt.Errorf("store: backup: %w", err)
	}
	syncDir(filepath.Dir(dst))
	if fi, err := os.Stat(dst); err == nil {
		st.Bytes = fi.Size()
	}
	st.Took = time.Since(start)
	return st, nil
}

// finishBackup counts the copy and adds backup_meta and backup_config.
func finishBackup(ctx context.Context, file string, info BackupInfo) (BackupStats, error) {
	db, err := sql.Open("sqlite", plainDSN(file, defaultBusyTimeout))
	if err != nil {
		return BackupStats{}, err
	}
	defer db.Close()
	c, err := countTables(ctx, db)
	if err != nil {
		return BackupStats{}, err
	}
	meta := map[string]string{}
	for k, v := range info.Meta {
		meta[k] = v
	}
	meta["format"] = BackupFormat
	meta["schema_version"] = strconv.Itoa(c.SchemaVersion)
	meta["datapoints"] = strconv.FormatInt(c.Datapoints, 10)
	meta["samples"] = strconv.FormatInt(c.Samples, 10)
	meta["rollups"] = strconv.FormatInt(c.Rollups, 10)
	if _, ok := meta["created"]; !ok {
		meta["created"] = time.Now().UTC().Format(time.RFC3339Nano)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return BackupStats{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS backup_meta; DROP TABLE IF EXISTS backup_config;
		CREATE TABLE backup_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
		CREATE TABLE backup_config (name TEXT PRIMARY KEY, content BLOB NOT NULL);`); err != nil {
		return BackupStats{}, err
	}
	for k, v := range meta {
		if _, err := tx.ExecContext(ctx, "INSERT INTO backup_meta(key, value) VALUES (?, ?)", k, v); err != nil {
			return BackupStats{}, err
		}
	}
	for name, content := range info.Config {
		if _, err := tx.ExecContext(ctx, "INSERT INTO backup_config(name, content) VALUES (?, ?)", name, content); err != nil {
			return BackupStats{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return BackupStats{}, err
	}
	return BackupStats{Counts: c}, db.Close()
}

// countTables reads the schema version and the table sizes.
func countTables(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (Counts, error) {
	var c Counts
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&c.SchemaVersion); err != nil {
		return c, err
	}
	for _, t := range []struct {
		table string
		n     *int64
	}{{"datapoints", &c.Datapoints}, {"samples", &c.Samples}, {"rollups", &c.Rollups}} {
		if t.table == "rollups" && c.SchemaVersion < 2 {
			continue
		}
		if err := q.QueryRowContext(ctx, "SELECT count(*) FROM "+t.table).Scan(t.n); err != nil {
			return c, fmt.Errorf("count %s: %w", t.table, err)
		}
	}
	return c, nil
}

// ReadBackup checks that file is a gridbox backup this version can restore
// (backup_meta format, known schema version, PRAGMA integrity_check ok) and
// returns what it records.
func ReadBackup(ctx context.Context, file string) (BackupInfo, Counts, error) {
	info, c, err := readBackup(ctx, file)
	if err != nil {
		return info, c, fmt.Errorf("store: %s: %w", file, err)
	}
	return info, c, nil
}

func readBackup(ctx context.Context, file string) (BackupInfo, Counts, error) {
	info := BackupInfo{Meta: map[string]string{}, Config: map[string][]byte{}}
	if _, err := os.Stat(file); err != nil {
		return info, Counts{}, err
	}
	db, err := sql.Open("sqlite", plainDSN(file, defaultBusyTimeout)+"&_pragma=query_only(1)")
	if err != nil {
		return info, Counts{}, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT key, value FROM backup_meta")
	if err != nil {
		return info, Counts{}, fmt.Errorf("not a gridbox backup (%v)", err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return info, Counts{}, err
		}
		info.Meta[k] = v
	}
	rows.Close()
	if f := info.Meta["format"]; f != BackupFormat {
		return info, Counts{}, fmt.Errorf("not a gridbox backup (format %q, want %q)", f, BackupFormat)
	}
	c, err := countTables(ctx, db)
	if err != nil {
		return info, c, fmt.Errorf("not a gridbox backup (%v)", err)
	}
	if c.SchemaVersion < 1 || c.SchemaVersion > schemaVersion {
		return info, c, fmt.Errorf("schema version %d: this gridbox restores 1..%d", c.SchemaVersion, schemaVersion)
	}
	var res []string
	rows, err = db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return info, c, err
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return info, c, err
		}
		res = append(res, s)
	}
	rows.Close()
	if len(res) != 1 || res[0] != "ok" {
		return info, c, fmt.Errorf("integrity_check failed: %s", strings.Join(res, "; "))
	}
	rows, err = db.QueryContext(ctx, "SELECT name, content FROM backup_config")
	if err != nil {
		return info, c, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var content []byte
		if err := rows.Scan(&name, &content); err != nil {
			return info, c, err
		}
		info.Config[name] = content
	}
	return info, c, rows.Err()
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	Force bool      // replace a store that holds data (kept as gridbox.db.bak-<time>)
	Now   time.Time // for the .bak name; zero means time.Now()
}

// RestoreStats describes a restore.
type RestoreStats struct {
	Counts
	Info  BackupInfo
	Kept  string // the previous database file, renamed, or ""
	Bytes int64
}

// Restore makes the backup file src the store in directory dir. It refuses
// (ErrStoreInUse) when another connection has the store open — detected by
// switching it out of WAL mode, which SQLite only allows to the only
// connection — and (ErrStoreHasData) when the store holds data unless
// o.Force, which keeps the old file as gridbox.db.bak-<time>. The backup is
// validated (ReadBackup), copied to a temporary file in dir, its backup_*
// tables dropped, synced and renamed into place.
func Restore(ctx context.Context, src, dir string, o RestoreOptions) (RestoreStats, error) {
	info, _, err := ReadBackup(ctx, src)
	if err != nil {
		return RestoreStats{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return RestoreStats{}, fmt.Errorf("store: restore: %w", err)
	}
	target := filepath.Join(dir, FileName)
	hasData, err := probeTarget(ctx, target)
	if err != nil {
		return RestoreStats{}, fmt.Errorf("store: restore into %s: %w", target, err)
	}
	if hasData && !o.Force {
		return RestoreStats{}, fmt.Errorf("store: restore into %s: %w", target, ErrStoreHasData)
	}
	tmp := target + ".restore-tmp"
	if err := copyFile(src, tmp); err != nil {
		os.Remove(tmp)
		return RestoreStats{}, fmt.Errorf("store: restore: %w", err)
	}
	c, err := stripBackup(ctx, tmp)
	if err == nil {
		err = syncFile(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return RestoreStats{}, fmt.Errorf("store: restore: %s: %w", tmp, err)
	}
	st := RestoreStats{Counts: c, Info: info}
	if _, err := os.Stat(target); err == nil {
		if hasData {
			now := o.Now
			if now.IsZero() {
				now = time.Now()
			}
			st.Kept = target + ".bak-" + now.UTC().Format("20060102T150405Z")
			if err := os.Rename(target, st.Kept); err != nil {
				os.Remove(tmp)
				return RestoreStats{}, fmt.Errorf("store: restore: keep the old store: %w", err)
			}
		}
	}
	// A WAL left beside the old file would be replayed into the new one.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(target + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			os.Remove(tmp)
			return RestoreStats{}, fmt.Errorf("store: restore: %w", err)
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		os.Remove(tmp)
		return RestoreStats{}, fmt.Errorf("store: restore: %w", err)
	}
	syncDir(dir)
	if fi, err := os.Stat(target); err == nil {
		st.Bytes = fi.Size()
	}
	return st, nil
}

// probeTarget reports whether the database file holds data, and fails with
// ErrStoreInUse when another connection has it open: it switches the file
// to journal_mode DELETE, which SQLite refuses (keeps "wal") while any
// other connection uses the WAL. The switch also checkpoints the WAL into
// the file, so a kept .bak is complete on its own.
func probeTarget(ctx context.Context, file string) (bool, error) {
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	db, err := sql.Open("sqlite", plainDSN(file, lockProbeTimeout))
	if err != nil {
		return false, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode=DELETE").Scan(&mode); err != nil {
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
			return false, ErrStoreInUse
		}
		return false, err
	}
	if !strings.EqualFold(mode, "delete") {
		return false, ErrStoreInUse
	}
	var n int64
	for _, q := range []string{"SELECT count(*) FROM sqlite_master WHERE name IN ('samples', 'datapoints')", "SELECT (SELECT count(*) FROM datapoints) + (SELECT count(*) FROM samples)"} {
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return false, err
		}
		if n == 0 {
			return false, nil
		}
	}
	return true, db.Close()
}

// stripBackup drops the backup_* tables of a restored copy and counts it.
func stripBackup(ctx context.Context, file string) (Counts, error) {
	db, err := sql.Open("sqlite", plainDSN(file, defaultBusyTimeout))
	if err != nil {
		return Counts{}, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS backup_meta; DROP TABLE IF EXISTS backup_config"); err != nil {
		return Counts{}, err
	}
	c, err := countTables(ctx, db)
	if err != nil {
		return c, err
	}
	return c, db.Close()
}

// plainDSN opens file with a busy timeout and nothing else: no WAL switch,
// no migration.
func plainDSN(file string, busy time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	return file + "?" + q.Encode()
}

func copyFile(src, dst string) error {
	b, err := os.Open(src)
	if err != nil {
		return err
	}
	defer b.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.ReadFrom(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncFile(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
