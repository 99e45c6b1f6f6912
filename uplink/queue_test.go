package uplink

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func appendN(t *testing.T, q *Queue, from, n int) {
	t.Helper()
	var vals [][]byte
	for i := from; i < from+n; i++ {
		vals = append(vals, fmt.Appendf(nil, `{"i":%d}`, i))
	}
	if err := q.Append(vals); err != nil {
		t.Fatal(err)
	}
}

func TestQueueSealReadAck(t *testing.T) {
	dir := t.TempDir()
	q, err := OpenQueue(dir, 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		appendN(t, q, i*10, 10)
		if err := q.Cut(); err != nil {
			t.Fatal(err)
		}
	}
	b, ok := q.Next(0)
	if !ok || b.seq != 1 || b.n != 10 {
		t.Fatalf("first message %+v %v", b, ok)
	}
	vals, err := q.Read(b)
	if err != nil || len(vals) != 10 || string(vals[3]) != `{"i":3}` {
		t.Fatalf("read %q %v", vals, err)
	}
	if err := q.Ack(15); err != nil {
		t.Fatal(err)
	}
	appendN(t, q, 1000, 3) // open, unsealed
	q.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) >= 20 {
		t.Fatalf("acknowledged segments not deleted: %d left", len(segs))
	}

	q, err = OpenQueue(dir, 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	st := q.Stats()
	if st.Acked != 15 || st.Next != 21 || st.Messages != 5 || st.Values != 53 || q.Open() != 3 {
		t.Fatalf("after reopen: %+v open %d", st, q.Open())
	}
	if b, _ := q.Next(15); b.seq != 16 {
		t.Fatalf("next after 15 is %d", b.seq)
	}
}

// TestQueueSeqNeverReused: with everything acknowledged and deleted, a
// reopened queue continues after the last seq.
func TestQueueSeqNeverReused(t *testing.T) {
	dir := t.TempDir()
	q, _ := OpenQueue(dir, 256)
	for i := range 5 {
		appendN(t, q, i, 20)
		q.Cut()
	}
	if err := q.Ack(5); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q, err := OpenQueue(dir, 256)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	appendN(t, q, 0, 1)
	q.Cut()
	if b, ok := q.Next(5); !ok || b.seq != 6 {
		t.Fatalf("seq after reopen: %+v", b)
	}
}

// TestQueueTornTail: a record cut short by kill -9 is dropped, the rest kept.
func TestQueueTornTail(t *testing.T) {
	dir := t.TempDir()
	q, _ := OpenQueue(dir, 1<<20)
	appendN(t, q, 0, 10)
	q.Cut()
	appendN(t, q, 10, 5)
	q.Close()
	seg := filepath.Join(dir, fmt.Sprintf("%020d.seg", 0))
	f, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0, 0, 0, 50, 1, 2, 3}) // a header without its payload
	f.Close()
	q, err := OpenQueue(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if st := q.Stats(); st.Messages != 1 || q.Open() != 5 {
		t.Fatalf("after torn tail: %+v open %d", st, q.Open())
	}
	appendN(t, q, 15, 1)
	q.Cut()
	b, _ := q.Next(1)
	vals, err := q.Read(b)
	if err != nil || len(vals) != 6 {
		t.Fatalf("message after repair: %d values, %v", len(vals), err)
	}
}

// TestQueueDropOldest drops whole segments and counts their values.
func TestQueueDropOldest(t *testing.T) {
	q, _ := OpenQueue(t.TempDir(), 256)
	defer q.Close()
	for i := range 10 {
		appendN(t, q, i*20, 20)
		q.Cut()
	}
	n, err := q.DropOldest()
	if err != nil || n == 0 {
		t.Fatalf("dropped %d, %v", n, err)
	}
	st := q.Stats()
	if st.Dropped != uint64(n) || st.Values != int64(200-n) {
		t.Fatalf("after drop: %+v", st)
	}
	if b, _ := q.Next(0); b.seq <= st.Acked {
		t.Fatalf("next %d is not after the dropped %d", b.seq, st.Acked)
	}
}
