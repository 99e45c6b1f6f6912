package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

// backupValue is the i-th value of the concurrent writer: datapoint i%5,
// one value per 250 ms of simulated time.
func backupValue(i int) model.Value {
	return model.Value{Device: "dev", Name: fmt.Sprintf("p%d", i%5), Value: float64(i%997) / 4, Time: 1_700_000_000_000 + int64(i)*250, Quality: model.Good}
}

// TestBackupWhileWritingThenRestore: a backup taken while a goroutine keeps
// writing opens, passes integrity_check and holds every value committed
// before it started; restored into a fresh directory it answers raw and
// aggregated history exactly as the original does up to that point.
func TestBackupWhileWritingThenRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, Options{Path: dir})
	var committed atomic.Int64 // values 0..committed-1 are committed
	const batch = 200
	for i := 0; i < 20*batch; i += batch { // some history first
		writeRange(t, s, i, i+batch)
	}
	committed.Store(20 * batch)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := int(committed.Load()); ; i += batch {
			select {
			case <-stop:
				return
			default:
			}
			vals := make([]model.Value, 0, batch)
			for j := i; j < i+batch; j++ {
				vals = append(vals, backupValue(j))
			}
			if err := s.Write(ctx, vals); err != nil {
				t.Errorf("write: %v", err)
				return
			}
			committed.Store(int64(i + batch))
		}
	}()
	time.Sleep(50 * time.Millisecond)
	before := int(committed.Load())
	dst := filepath.Join(t.TempDir(), "gridbox.backup")
	st, err := Backup(ctx, dir, dst, BackupInfo{Meta: map[string]string{"site": "test"}, Config: map[string][]byte{"gridbox.yaml": []byte("site: test\n")}})
	time.Sleep(50 * time.Millisecond) // the writer goes on after the backup
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if st.Samples < int64(before) || st.Bytes <= 0 {
		t.Fatalf("backup stats %+v: want ≥ %d samples", st, before)
	}
	if _, err := os.Stat(dst + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.tmp left behind: %v", dst, err)
	}
	info, c, err := ReadBackup(ctx, dst) // includes integrity_check
	if err != nil {
		t.Fatalf("read backup: %v", err)
	}
	if info.Meta["site"] != "test" || info.Meta["format"] != BackupFormat || string(info.Config["gridbox.yaml"]) != "site: test\n" || c.SchemaVersion != schemaVersion {
		t.Errorf("backup info %+v, counts %+v", info, c)
	}
	t.Logf("committed before the backup: %d, in the backup: %d, after: %d", before, st.Samples, committed.Load())

	fresh := filepath.Join(t.TempDir(), "restored")
	rs, err := Restore(ctx, dst, fresh, RestoreOptions{})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if rs.Samples != st.Samples || rs.Kept != "" {
		t.Errorf("restore stats %+v, backup had %d samples", rs, st.Samples)
	}
	r := openTest(t, Options{Path: fresh})
	if n := countSamples(t, r); n < before {
		t.Fatalf("restored store has %d samples, want ≥ %d committed before the backup", n, before)
	}
	var leftover int
	if err := r.rdb.QueryRow("SELECT count(*) FROM sqlite_master WHERE name LIKE 'backup%'").Scan(&leftover); err != nil || leftover != 0 {
		t.Errorf("backup_* tables in the restored store: %d, %v", leftover, err)
	}
	to := backupValue(before - 1).Time
	for p := range 5 {
		name := fmt.Sprintf("p%d", p)
		queries := []model.HistoryQuery{{Device: "dev", Name: name, From: 0, To: to}}
		for _, agg := range []string{"mean", "min", "max", "sum", "count", "first", "last"} {
			for _, iv := range []time.Duration{time.Minute, 15 * time.Minute, time.Hour} {
				queries = append(queries, model.HistoryQuery{Device: "dev", Name: name, From: 0, To: to, Interval: iv, Agg: agg})
			}
		}
		for _, q := range queries {
			want, err := s.History(ctx, q)
			if err != nil {
				t.Fatalf("original %+v: %v", q, err)
			}
			got, err := r.History(ctx, q)
			if err != nil {
				t.Fatalf("restored %+v: %v", q, err)
			}
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v: restored answer (%d samples) differs from the original (%d)", q, len(got), len(want))
			}
		}
	}
}

func writeRange(t *testing.T, s *Store, from, to int) {
	t.Helper()
	vals := make([]model.Value, 0, to-from)
	for i := from; i < to; i++ {
		vals = append(vals, backupValue(i))
	}
	mustWrite(t, s, vals...)
}

// TestRestoreRefusals: a store open elsewhere, a store with data (without
// --force) and a file that is not a backup are refused; --force keeps the old
// file as .bak.
func TestRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, Options{Path: dir})
	writeRange(t, s, 0, 100)
	dst := filepath.Join(t.TempDir(), "b.db")
	if _, err := Backup(ctx, dir, dst, BackupInfo{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Backup(ctx, dir, filepath.Join(dir, FileName), BackupInfo{}); err == nil {
		t.Fatal("backup onto the store file itself succeeded")
	}
	if _, err := Restore(ctx, dst, dir, RestoreOptions{Force: true}); !errors.Is(err, ErrStoreInUse) {
		t.Fatalf("restore into an open store: %v, want ErrStoreInUse", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, dst, dir, RestoreOptions{}); !errors.Is(err, ErrStoreHasData) {
		t.Fatalf("restore into a store with data: %v, want ErrStoreHasData", err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rs, err := Restore(ctx, dst, dir, RestoreOptions{Force: true, Now: now})
	if err != nil {
		t.Fatalf("restore --force: %v", err)
	}
	if want := filepath.Join(dir, FileName+".bak-20260102T030405Z"); rs.Kept != want {
		t.Errorf("kept %q, want %q", rs.Kept, want)
	}
	if _, err := os.Stat(rs.Kept); err != nil {
		t.Error(err)
	}
	r := openTest(t, Options{Path: dir})
	if n := countSamples(t, r); n != 100 {
		t.Errorf("restored %d samples, want 100", n)
	}
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("not a database at all, just some text of some length............"), 0o644)
	if _, err := Restore(ctx, junk, t.TempDir(), RestoreOptions{}); err == nil {
		t.Error("restore of a non-database succeeded")
	}
	// A plain store file (no backup_meta) is not a backup either.
	if _, err := Restore(ctx, filepath.Join(dir, FileName+".bak-20260102T030405Z"), t.TempDir(), RestoreOptions{}); err == nil {
		t.Error("restore of a plain store file succeeded")
	}
}
