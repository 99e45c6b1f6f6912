package influx

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
)

// outage is how long TestOutageLosesNothing keeps InfluxDB down: 5 s by
// default, GRIDBOX_INFLUX_OUTAGE=60s for the full minute.
func outage(t *testing.T) time.Duration {
	if s := os.Getenv("GRIDBOX_INFLUX_OUTAGE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("GRIDBOX_INFLUX_OUTAGE=%q: %v", s, err)
		}
		return d
	}
	return 5 * time.Second
}

// TestOutageLosesNothing: InfluxDB is stopped while values keep coming
// (1000 values/s over 4 series), then started again. Every value arrives,
// and every later correction of an earlier point wins — batches were
// written in order. Failed attempts are counted as retries, nothing as
// dropped, and the disk buffer is empty again at the end.
func TestOutageLosesNothing(t *testing.T) {
	srv := startInfluxd(t)
	down := outage(t)
	db := dbName(t)
	b, sub := newBus(t, numbers(4)...)
	o := open(t, &Config{
		URL: srv.URL, Database: db, BatchSize: ptr(100), FlushEvery: dur(100 * time.Millisecond),
		Backoff: dur(50 * time.Millisecond), MaxBackoff: dur(time.Second), Timeout: dur(2 * time.Second),
	}, b)
	stop := o.run(t, sub)
	p := newPub(b, 4, 1_700_000_000_000)
	tick := time.NewTicker(4 * time.Millisecond)
	defer tick.Stop()
	publishFor := func(d time.Duration) {
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			<-tick.C
			p.next()
		}
	}
	publishFor(time.Second)
	testenv.Eventually(t, waitLimit, "first values written", func() bool { return o.written() > 0 })
	srv.stop()
	t.Logf("InfluxDB stopped for %s while values keep coming", down)
	publishFor(down)
	buffered := o.bufferBytes()
	if buffered == 0 {
		t.Errorf("nothing in the disk buffer during the outage")
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	publishFor(time.Second)
	testenv.Eventually(t, waitLimit, "every value written", func() bool { return o.written() == int(p.sent.Load()) })
	stop()
	p.check(t, srv, db)
	if sub.Dropped() != 0 {
		t.Errorf("the bus dropped %d values for the output", sub.Dropped())
	}
	for _, r := range []string{dropNull, dropInvalid, dropRejected, dropBufferFull, dropDisk} {
		if n := o.dropped(r); n != 0 {
			t.Errorf("dropped %d values (%s)", n, r)
		}
	}
	if o.retried() == 0 {
		t.Errorf("no retry counted")
	}
	if o.bufferBytes() != 0 || len(segments(t, o.s.bufferDir)) != 0 {
		t.Errorf("disk buffer not empty after recovery: %d bytes, %v", o.bufferBytes(), segments(t, o.s.bufferDir))
	}
	t.Logf("%d values (%d points after corrections), %d bytes buffered during the outage, %d retries", p.sent.Load(), p.points(), buffered, o.retried())
	for _, want := range []string{"write failed; batches wait in the disk buffer", "writes succeed again"} {
		if !strings.Contains(o.log.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestBufferSurvivesRestart: values written while the server is
// unreachable are in the disk buffer when the output is closed; an output
// opened again on the same buffer_dir replays them first, in order (a
// correction published after the restart still wins), and empties it.
func TestBufferSurvivesRestart(t *testing.T) {
	srv := sharedInfluxd(t)
	db := dbName(t)
	dir := t.TempDir()
	b, sub := newBus(t, numbers(2)...)
	dead := &Config{URL: "http://" + testenv.FreeAddr(t), Database: db, BufferDir: dir, BatchSize: ptr(50),
		FlushEvery: dur(20 * time.Millisecond), Backoff: dur(20 * time.Millisecond), MaxBackoff: dur(100 * time.Millisecond)}
	o1 := open(t, dead, b)
	stop := o1.run(t, sub)
	p := newPub(b, 2, 1_700_000_000_000)
	for range 400 {
		p.next()
	}
	testenv.Eventually(t, waitLimit, "every value in the disk buffer", func() bool {
		_, n, _ := o1.q.pending()
		return n == int(p.sent.Load())
	})
	stop()
	segs := segments(t, dir)
	if len(segs) == 0 || o1.written() != 0 {
		t.Fatalf("after closing: segments %v, written %d", segs, o1.written())
	}

	b2, sub2 := newBus(t, numbers(2)...)
	p.b = b2
	live := *dead
	live.URL = srv.URL
	o2 := open(t, &live, b2)
	if !strings.Contains(o2.log.String(), "replaying them first") {
		t.Errorf("open did not log the replay:\n%s", o2.log.String())
	}
	o2.run(t, sub2)
	for range 300 {
		p.next() // corrections of points written before the restart
	}
	testenv.Eventually(t, waitLimit, "every value written", func() bool { return o2.written() == int(p.sent.Load()) })
	p.check(t, srv, db)
	if n := len(segments(t, dir)); n != 0 || o2.bufferBytes() != 0 {
		t.Errorf("buffer not empty after the replay: %d segments, %d bytes", n, o2.bufferBytes())
	}
}

// TestMaxBufferDropsOldest: with the server unreachable and a buffer of
// three batches, ten batches leave the newest three on disk; the seven
// oldest are dropped, counted (buffer_full) and logged, and only the newest
// three arrive once the server is back.
func TestMaxBufferDropsOldest(t *testing.T) {
	srv := sharedInfluxd(t)
	db := dbName(t)
	dir := t.TempDir()
	b, sub := newBus(t, numbers(1)...)
	// Uncompressed lines of one length: every batch has the same size.
	line := len("p0,datapoint=p0,device=pv,quality=good,unit=W value=1000 1700000001000\n")
	const perBatch = 10
	size := int64(line * perBatch)
	dead := &Config{URL: "http://" + testenv.FreeAddr(t), Database: db, BufferDir: dir, BatchSize: ptr(perBatch),
		Gzip: ptr(false), MaxBuffer: ptr(3*size + size/2), Backoff: dur(time.Hour)}
	o1 := open(t, dead, b)
	stop := o1.run(t, sub)
	for i := range 10 * perBatch {
		b.Publish(modelValue(1000+i, 1_700_000_001_000+int64(i)))
	}
	testenv.Eventually(t, waitLimit, "100 values buffered or dropped", func() bool {
		_, n, _ := o1.q.pending()
		return n+o1.dropped(dropBufferFull) == 10*perBatch
	})
	stop()
	if got := o1.dropped(dropBufferFull); got != 7*perBatch {
		t.Errorf("dropped (buffer_full) %d, want %d", got, 7*perBatch)
	}
	if segs := segments(t, dir); len(segs) != 3 || int64(o1.bufferBytes()) != 3*size {
		t.Errorf("buffer holds %v (%d bytes), want 3 segments of %d bytes", segs, o1.bufferBytes(), size)
	}
	if n := strings.Count(o1.log.String(), "disk buffer full: oldest batch dropped"); n != 7 {
		t.Errorf("%d drops logged, want 7", n)
	}

	live := *dead
	live.URL = srv.URL
	b2, sub2 := newBus(t, numbers(1)...)
	o2 := open(t, &live, b2)
	o2.run(t, sub2)
	testenv.Eventually(t, waitLimit, "the newest 30 values written", func() bool { return o2.written() == 3*perBatch })
	ss := srv.query(t, db, `SELECT "value" FROM "p0"`)
	if len(ss) != 1 || len(ss[0].Values) != 3*perBatch || ss[0].Values[0][1] != float64(1070) || ss[0].Values[29][1] != float64(1099) {
		t.Errorf("InfluxDB holds %+v, want the values 1070…1099", ss)
	}
}
