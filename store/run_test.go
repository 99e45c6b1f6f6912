package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const waitLimit = 20 * time.Second // generous: the machine is shared

// testBus returns a bus with datapoints dev/p0 … dev/p<n-1> and a store subscription.
func testBus(t *testing.T, n int) (*bus.Bus, *bus.Subscription) {
	t.Helper()
	b := bus.New()
	pts := make([]model.Datapoint, n)
	for i := range pts {
		pts[i] = model.Datapoint{Name: fmt.Sprintf("p%d", i), Meta: model.Meta{Kind: model.Sensor, Format: model.GenericNumeric}}
	}
	if err := b.AddDevice(model.DeviceState{Device: "dev", Driver: "test"}, pts, nil, 0); err != nil {
		t.Fatal(err)
	}
	return b, b.Subscribe("store", bus.Options{Size: 10_000})
}

// publish sends n values with timestamps from t0, spread over 10 datapoints.
func publish(b *bus.Bus, t0 int64, n int) {
	for i := range n {
		b.Publish(model.Value{Device: "dev", Name: fmt.Sprintf("p%d", i%10), Value: float64(i), Time: t0 + int64(i), Quality: model.Good})
	}
}

// startRun runs s.Run in a goroutine; the returned stop cancels it and
// returns Run's result. Cleanup stops it too.
func startRun(t *testing.T, s *Store, sub *bus.Subscription) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, sub) }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case err = <-done:
			case <-time.After(waitLimit):
				t.Fatal("Run did not return after cancel")
			}
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// waitFor polls cond until it holds or waitLimit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunFlushesBySize(t *testing.T) {
	s := openTest(t, Options{BatchSize: 100, FlushInterval: time.Hour})
	b, sub := testBus(t, 10)
	stop := startRun(t, s, sub)
	publish(b, 1000, 250)
	waitFor(t, "two full batches", func() bool { return countSamples(t, s) >= 200 })
	// With a one-hour interval only full batches can have been written.
	if n := countSamples(t, s); n != 200 {
		t.Fatalf("stored %d values, want exactly the 2 full batches (200)", n)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if n := countSamples(t, s); n != 250 {
		t.Fatalf("after stop: stored %d values, want 250", n)
	}
}

func TestRunFlushesByTime(t *testing.T) {
	s := openTest(t, Options{BatchSize: 1_000_000, FlushInterval: 20 * time.Millisecond})
	b, sub := testBus(t, 10)
	startRun(t, s, sub)
	publish(b, 1000, 3)
	waitFor(t, "a timed flush of 3 values", func() bool { return countSamples(t, s) == 3 })
	publish(b, 2000, 5) // the timer re-arms for the next values
	waitFor(t, "a second timed flush", func() bool { return countSamples(t, s) == 8 })
}

func TestRunDrainsQueueOnCancel(t *testing.T) {
	s := openTest(t, Options{BatchSize: 300, FlushInterval: time.Hour})
	b, sub := testBus(t, 10)
	publish(b, 1000, 1000) // queued before Run starts
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx, sub); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if n := countSamples(t, s); n != 1000 {
		t.Fatalf("stored %d values, want all 1000 queued", n)
	}
	if len(sub.Values) != 0 {
		t.Fatalf("%d values left in the queue", len(sub.Values))
	}
}

// lockDB takes SQLite's write lock from another connection, as a sqlite3
// CLI session in a transaction would; the returned func releases it.
func lockDB(t *testing.T, dir string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var done bool
	release = func() {
		if !done {
			done = true
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
			db.Close()
		}
	}
	t.Cleanup(release)
	return release
}

func TestRunRetriesFailedBatchOnce(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Path: dir, BatchSize: 10, FlushInterval: time.Hour, busyTimeout: 20 * time.Millisecond})
	b, sub := testBus(t, 10)
	release := lockDB(t, dir)
	startRun(t, s, sub)
	errs := func() float64 { return testutil.ToFloat64(s.met.Errs) }
	publish(b, 1000, 10)
	waitFor(t, "the first write error", func() bool { return errs() == 1 })
	release()
	publish(b, 2000, 10) // the next flush retries the failed batch first
	waitFor(t, "both batches", func() bool { return countSamples(t, s) == 20 })
	if e, d := errs(), testutil.ToFloat64(s.met.Drops); e != 1 || d != 0 {
		t.Fatalf("errors %v dropped %v, want 1 and 0", e, d)
	}
}

func TestRunDropsBatchWhoseRetryFails(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Path: dir, BatchSize: 10, FlushInterval: time.Hour, busyTimeout: 20 * time.Millisecond})
	b, sub := testBus(t, 10)
	release := lockDB(t, dir)
	stop := startRun(t, s, sub)
	errs := func() float64 { return testutil.ToFloat64(s.met.Errs) }
	publish(b, 1000, 10)
	waitFor(t, "the first write error", func() bool { return errs() == 1 })
	publish(b, 2000, 10) // retry of batch 1 fails (dropped), batch 2 fails
	waitFor(t, "three write errors", func() bool { return errs() == 3 })
	if d := testutil.ToFloat64(s.met.Drops); d != 10 {
		t.Fatalf("dropped %v, want 10", d)
	}
	release()
	if err := stop(); err != nil { // shutdown retries batch 2
		t.Fatal(err)
	}
	got := rawHistory(t, s, "dev", "p0", 0, 1e6)
	if len(got) != 1 || got[0].Time != 2000 {
		t.Fatalf("stored %v, want only batch 2's value at 2000", got)
	}
	if n := countSamples(t, s); n != 10 {
		t.Fatalf("stored %d values, want 10", n)
	}
}
