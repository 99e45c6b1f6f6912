package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gridbox/gridbox/store/samples"
)

// schemaVersion is the newest schema this code writes (PRAGMA user_version).
const schemaVersion = 4

// migrations[i] brings the schema from version i to i+1. Each is idempotent
// and runs in its own transaction together with the user_version bump.
var migrations = [schemaVersion]string{
	`CREATE TABLE IF NOT EXISTS datapoints (
		id     INTEGER PRIMARY KEY,
		device TEXT NOT NULL,
		name   TEXT NOT NULL,
		UNIQUE (device, name)
	);
	CREATE TABLE IF NOT EXISTS samples (
		dp   INTEGER NOT NULL,
		ts   INTEGER NOT NULL,
		num  REAL,
		txt  TEXT,
		kind INTEGER NOT NULL,
		q    INTEGER NOT NULL,
		PRIMARY KEY (dp, ts)
	) WITHOUT ROWID;`,
	// 2: rollups (rollup.go). An existing store gets them built from raw at
	// the next open: the pending mark is cleared when that build completes.
	`CREATE TABLE IF NOT EXISTS rollups (
		dp  INTEGER NOT NULL,
		res INTEGER NOT NULL,
		b   INTEGER NOT NULL,
		n   INTEGER NOT NULL,
		sum REAL NOT NULL,
		mn  REAL NOT NULL,
		mx  REAL NOT NULL,
		ft  INTEGER NOT NULL,
		fv  REAL NOT NULL,
		lt  INTEGER NOT NULL,
		lv  REAL NOT NULL,
		PRIMARY KEY (dp, res, b)
	) WITHOUT ROWID;
	CREATE TABLE IF NOT EXISTS store_meta (
		key   TEXT PRIMARY KEY,
		value INTEGER NOT NULL
	);
	INSERT OR REPLACE INTO store_meta(key, value) VALUES ('rollups_pending', 1);`,
	// 3: the audit log of writes (audit.go).
	`CREATE TABLE IF NOT EXISTS audit (
		id        INTEGER PRIMARY KEY,
		ts        INTEGER NOT NULL,
		source    TEXT NOT NULL,
		datapoint TEXT NOT NULL,
		old       TEXT NOT NULL,
		value     TEXT NOT NULL,
		result    TEXT NOT NULL,
		error     TEXT NOT NULL
	);
	CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
	CREATE INDEX IF NOT EXISTS audit_dp_ts ON audit (datapoint, ts);`,
	// 4: the energy integral of each rollup bucket (value·ms between its
	// first and last value, samples.AggEnergy); existing rollups are rebuilt
	// from raw at the next open, like after migration 2.
	`ALTER TABLE rollups ADD COLUMN e REAL NOT NULL DEFAULT 0;
	INSERT OR REPLACE INTO store_meta(key, value) VALUES ('rollups_pending', 1);`,
}

// migrate applies every missing migration and refuses a newer schema.
func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this gridbox supports (%d)", v, schemaVersion)
	}
	for ; v < schemaVersion; v++ {
		if err := migrateOne(ctx, db, v); err != nil {
			return fmt.Errorf("migrate schema %d→%d: %w", v, v+1, err)
		}
	}
	return nil
}

func migrateOne(ctx context.Context, db *sql.DB, from int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, migrations[from]); err != nil {
		return err
	}
	// PRAGMA takes no parameters; the value is an int constant.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", from+1)); err != nil {
		return err
	}
	return tx.Commit()
}

// loadIDs fills ids from the datapoints table.
func loadIDs(ctx context.Context, db *sql.DB, ids *samples.IDs) error {
	rows, err := db.QueryContext(ctx, "SELECT id, device, name FROM datapoints")
	if err != nil {
		return err
	}
	defer rows.Close()
	m := map[samples.Key]int64{}
	for rows.Next() {
		var id int64
		var k samples.Key
		if err := rows.Scan(&id, &k.Device, &k.Name); err != nil {
			return err
		}
		m[k] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	ids.Add(m)
	return nil
}
