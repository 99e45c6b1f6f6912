package influx

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// batch is one write: a line protocol body as sent (gzip-compressed when gz)
// with the precision its timestamps were encoded in.
type batch struct {
	seq       uint64
	body      []byte // nil for a segment on disk until it is read
	gz        bool
	lines     int
	precision string
	file      string // segment file name; "" while the batch is in memory
	size      int64
}

// memBatches is how many batches wait in memory for a healthy server before
// further ones go to the disk buffer.
const memBatches = 4

// queue is the ordered list of batches to send: first a few in memory, then
// the disk buffer (one segment file per batch, written once and fsync'd,
// deleted once the server acknowledged it). Every memory batch is older than
// every segment: a batch goes to memory only while the disk buffer is empty,
// and when a write fails the memory batches move to disk. So the oldest batch
// is always sent first, and the order of each series is kept.
//
// The disk buffer is bounded by max bytes: to make room, the oldest segment
// is dropped (never the one being sent), counted and logged.
type queue struct {
	mu       sync.Mutex
	dir      string
	max      int64
	mem      []*batch
	disk     []*batch // by seq
	bytes    int64
	values   int
	next     uint64
	inflight uint64 // seq of the segment being sent; 0 = none
	wake     chan struct{}
	met      *metrics
	log      *slog.Logger
}

const segmentExt = ".lp"

func segmentName(b *batch) string {
	name := fmt.Sprintf("%020d-%d-%s%s", b.seq, b.lines, b.precision, segmentExt)
	if b.gz {
		name += ".gz"
	}
	return name
}

// parseSegment reads a segment's batch fields from its file name.
func parseSegment(name string) (*batch, bool) {
	b := &batch{file: name}
	rest, gz := strings.CutSuffix(name, ".gz")
	b.gz = gz
	rest, ok := strings.CutSuffix(rest, segmentExt)
	parts := strings.Split(rest, "-")
	if !ok || len(parts) != 3 {
		return nil, false
	}
	var err1, err2 error
	b.seq, err1 = strconv.ParseUint(parts[0], 10, 64)
	b.lines, err2 = strconv.Atoi(parts[1])
	b.precision = parts[2]
	if _, known := precisions[b.precision]; err1 != nil || err2 != nil || !known || b.seq == 0 {
		return nil, false
	}
	return b, true
}

// openQueue creates dir if needed and lists the segments left by an earlier
// run (to be replayed first); half-written temporary files are removed.
func openQueue(dir string, maxBytes int64, met *metrics, log *slog.Logger) (*queue, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	q := &queue{dir: dir, max: maxBytes, next: 1, wake: make(chan struct{}, 1), met: met, log: log}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		b, ok := parseSegment(e.Name())
		if !ok || !e.Type().IsRegular() {
			log.Warn("buffer directory: ignoring a file that is no segment", "file", filepath.Join(dir, e.Name()))
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		b.size = info.Size()
		q.disk = append(q.disk, b)
		q.bytes += b.size
		q.values += b.lines
		q.next = max(q.next, b.seq+1)
	}
	sort.Slice(q.disk, func(i, j int) bool { return q.disk[i].seq < q.disk[j].seq })
	q.gauges()
	return q, nil
}

// pending returns the number of batches and values on disk.
func (q *queue) pending() (batches, values int, bytes int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.disk), q.values, q.bytes
}

// push appends a new batch: to memory while the disk buffer is empty and
// memory has room, otherwise to disk.
func (q *queue) push(b *batch) {
	q.mu.Lock()
	b.seq = q.next
	q.next++
	if len(q.disk) == 0 && len(q.mem) < memBatches {
		q.mem = append(q.mem, b)
	} else {
		q.store(b)
	}
	q.mu.Unlock()
	q.notify()
}

func (q *queue) notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// store writes b as a segment (q.mu held), dropping the oldest segments
// that are not being sent until it fits in max.
func (q *queue) store(b *batch) {
	b.size = int64(len(b.body))
	for q.bytes+b.size > q.max {
		i := 0
		if i < len(q.disk) && q.disk[i].seq == q.inflight {
			i++
		}
		if i >= len(q.disk) {
			if b.size <= q.max {
				break // only the segment being sent is left: it goes soon, or is the oldest next time
			}
			q.met.drop(dropBufferFull, b.lines)
			q.log.Warn("disk buffer full: batch larger than max_buffer dropped", "values", b.lines, "bytes", b.size, "max_buffer", q.max)
			return
		}
		if old := q.disk[i]; old.seq > b.seq { // b itself is the oldest
			q.met.drop(dropBufferFull, b.lines)
			q.log.Warn("disk buffer full: oldest batch dropped", "values", b.lines, "max_buffer", q.max)
			return
		}
		old := q.disk[i]
		q.remove(i)
		q.met.drop(dropBufferFull, old.lines)
		q.log.Warn("disk buffer full: oldest batch dropped", "values", old.lines, "bytes", old.size, "max_buffer", q.max)
	}
	b.file = segmentName(b)
	if err := writeSegment(q.dir, b.file, b.body); err != nil {
		b.file = ""
		q.met.drop(dropDisk, b.lines)
		q.log.Error("batch dropped: it could not be written to the disk buffer", "values", b.lines, "dir", q.dir, "err", err)
		return
	}
	i := sort.Search(len(q.disk), func(i int) bool { return q.disk[i].seq > b.seq })
	b.body = nil
	q.disk = append(q.disk, nil)
	copy(q.disk[i+1:], q.disk[i:])
	q.disk[i] = b
	q.bytes += b.size
	q.values += b.lines
	q.gauges()
}

// remove deletes the segment q.disk[i] (q.mu held).
func (q *queue) remove(i int) {
	b := q.disk[i]
	if err := os.Remove(filepath.Join(q.dir, b.file)); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.log.Error("removing a segment of the disk buffer", "file", b.file, "err", err)
	}
	q.disk = append(q.disk[:i], q.disk[i+1:]...)
	q.bytes -= b.size
	q.values -= b.lines
	q.gauges()
}

func (q *queue) gauges() {
	q.met.bufferBytes.Set(float64(q.bytes))
	q.met.buffered.Set(float64(q.values))
}

// head returns the oldest batch, reading a segment's body from disk (it is
// then in flight and never dropped until ack or release), or nil.
// onlyMem limits it to memory batches (at shutdown).
func (q *queue) head(onlyMem bool) *batch {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if len(q.mem) > 0 {
			return q.mem[0]
		}
		if len(q.disk) == 0 || onlyMem {
			return nil
		}
		b := q.disk[0]
		body, err := os.ReadFile(filepath.Join(q.dir, b.file))
		if err != nil {
			q.met.drop(dropDisk, b.lines)
			q.log.Error("segment of the disk buffer unreadable: dropped", "file", b.file, "values", b.lines, "err", err)
			q.remove(0)
			continue
		}
		q.inflight = b.seq
		c := *b
		c.body = body
		return &c
	}
}

// ack removes b, which the server acknowledged (or refused for good).
func (q *queue) ack(b *batch) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inflight = 0
	if b.file == "" {
		if len(q.mem) > 0 && q.mem[0] == b {
			q.mem = q.mem[1:]
		}
		return
	}
	for i, d := range q.disk {
		if d.seq == b.seq {
			q.remove(i)
			return
		}
	}
}

// fail ends an unsuccessful attempt: b stays the oldest batch, and every
// memory batch moves to the disk buffer so an outage keeps nothing in memory
// and survives a restart.
func (q *queue) fail() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inflight = 0
	q.spill()
}

// spill moves the memory batches to disk (q.mu held).
func (q *queue) spill() {
	mem := q.mem
	q.mem = nil
	for _, b := range mem {
		q.store(b)
	}
}

// close moves what is left in memory to disk (at shutdown).
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.spill()
}

// writeSegment writes a segment atomically: a temporary file, fsync'd, then
// renamed, and the directory fsync'd so the name survives a power cut.
func writeSegment(dir, name string, body []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
