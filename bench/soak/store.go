package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"

	_ "modernc.org/sqlite" // the store's own driver
)

// window is a span of wall time in ms since the epoch (a broker outage).
type window struct{ from, to int64 }

// matchResult compares the store's rows with the values the subscriber
// received over MQTT, value by value (datapoint and timestamp).
type matchResult struct {
	rows          uint64 // rows in samples
	datapoints    int    // datapoints with rows
	mqttMissing   uint64 // stored values never received over MQTT
	missingInOut  uint64 // … of them with a timestamp inside a broker outage (± margin)
	mqttNotStored uint64 // values received over MQTT that are not in the store
}

// matchStore reads every (datapoint, ts) of the stopped gateway's SQLite
// file in order and merges it with the subscriber's sorted timestamps.
func matchStore(storeDir string, got map[string][]int64, outages []window) (matchResult, error) {
	var r matchResult
	dsn := "file:" + (&url.URL{Path: filepath.Join(storeDir, "gridbox.db")}).EscapedPath() + "?mode=ro"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return r, fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT d.device || '/' || d.name, s.ts FROM samples s JOIN datapoints d ON d.id = s.dp ORDER BY s.dp, s.ts`)
	if err != nil {
		return r, fmt.Errorf("query store: %w", err)
	}
	defer rows.Close()
	var (
		cur  string
		have []int64 // MQTT timestamps of cur, sorted
		i    int     // next unmatched in have
		seen = map[string]bool{}
	)
	finish := func() {
		if cur != "" {
			r.mqttNotStored += uint64(len(have) - i) // received, after the last stored one
		}
	}
	for rows.Next() {
		var key string
		var ts int64
		if err := rows.Scan(&key, &ts); err != nil {
			return r, fmt.Errorf("read store: %w", err)
		}
		if key != cur {
			finish()
			cur, have, i = key, got[key], 0
			seen[key] = true
			r.datapoints++
		}
		r.rows++
		for i < len(have) && have[i] < ts {
			r.mqttNotStored++
			i++
		}
		if i < len(have) && have[i] == ts {
			i++
			continue
		}
		r.mqttMissing++
		if inside(ts, outages) {
			r.missingInOut++
		}
	}
	finish()
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("read store: %w", err)
	}
	for key, ts := range got {
		if !seen[key] {
			r.mqttNotStored += uint64(len(ts))
		}
	}
	return r, nil
}

// inside reports whether ts falls in one of the windows.
func inside(ts int64, ws []window) bool {
	for _, w := range ws {
		if ts >= w.from && ts <= w.to {
			return true
		}
	}
	return false
}
