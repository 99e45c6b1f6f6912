package uplink

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The disk queue is a directory of append-only segment files and a small
// cursor file. A segment is a sequence of records:
//
//	[4 bytes length][4 bytes CRC-32C of type+payload][1 byte type][payload]
//
// A value record ('v') holds one value, already encoded as the JSON object
// the wire carries. A cut record ('c', payload: 8-byte seq) seals the values
// since the previous cut into the message with that seq, so a message is
// rebuilt byte for byte after a restart and a seq is never reused. The cursor
// file holds the last seq the remote acknowledged; segments whose messages
// are all acknowledged are deleted. A torn record at the end (kill -9 in the
// middle of a write) is cut off when the queue is opened.

const (
	recValue = 'v'
	recCut   = 'c'
	recHead  = 9
	maxRec   = 1 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// batch is one sealed message in a segment: bytes [off, end) hold its value records.
type batch struct {
	seq      uint64
	seg      uint64
	off, end int64
	n        int
}

type segment struct {
	id   uint64
	size int64
}

// Queue is the uplink's disk queue. Append and Cut are called by one
// writer; Next, Read and Ack by one sender; both may run concurrently.
type Queue struct {
	dir    string
	segMax int64

	mu       sync.Mutex
	segs     []segment
	batches  []batch // sealed, not acknowledged, oldest first
	w        *os.File
	bw       *bufio.Writer
	openOff  int64 // start of the open (unsealed) values in the last segment
	openN    int
	nextSeq  uint64
	acked    uint64
	bytes    int64 // total size of the segments
	values   int64 // values in sealed batches plus the open one
	notify   chan struct{}
	dropped  uint64 // values dropped by the overflow policy
	scratch  []byte
	readFile map[uint64]*os.File
}

// OpenQueue opens (or creates) the queue in dir.
func OpenQueue(dir string, segMax int64) (*Queue, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("queue dir: %w", err)
	}
	q := &Queue{dir: dir, segMax: segMax, notify: make(chan struct{}, 1), readFile: map[uint64]*os.File{}}
	var err error
	if q.acked, err = readCursor(q.cursorPath()); err != nil {
		return nil, err
	}
	ids, err := q.listSegments()
	if err != nil {
		return nil, err
	}
	lastCut := q.acked
	for i, id := range ids {
		cut, err := q.scan(id, i == len(ids)-1)
		if err != nil {
			return nil, err
		}
		lastCut = max(lastCut, cut)
	}
	q.nextSeq = lastCut + 1
	if len(q.segs) == 0 {
		if err := q.roll(); err != nil {
			return nil, err
		}
	} else if err := q.openTail(); err != nil {
		return nil, err
	}
	return q, q.deleteAcked()
}

func (q *Queue) cursorPath() string { return filepath.Join(q.dir, "cursor") }

func (q *Queue) segPath(id uint64) string {
	return filepath.Join(q.dir, fmt.Sprintf("%020d.seg", id))
}

func (q *Queue) listSegments() ([]uint64, error) {
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, fmt.Errorf("queue dir: %w", err)
	}
	var ids []uint64
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".seg"); ok {
			if id, err := strconv.ParseUint(name, 10, 64); err == nil {
				ids = append(ids, id)
			}
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// scan reads one segment, records its unacknowledged batches, and cuts off
// a torn tail. It returns the highest seq found.
func (q *Queue) scan(id uint64, last bool) (uint64, error) {
	f, err := os.Open(q.segPath(id))
	if err != nil {
		return 0, fmt.Errorf("queue segment: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	var off, start int64
	var n int
	var hi uint64
	for {
		typ, payload, size, err := readRecord(r)
		if err != nil {
			break // end of file or torn tail: everything from off on is dropped
		}
		switch typ {
		case recValue:
			n++
		case recCut:
			seq := binary.BigEndian.Uint64(payload)
			hi = seq
			if seq > q.acked && n > 0 {
				q.batches = append(q.batches, batch{seq: seq, seg: id, off: start, end: off, n: n})
				q.values += int64(n)
			}
			start, n = off+size, 0
		}
		off += size
	}
	if last {
		q.openOff, q.openN = start, n
		q.values += int64(n)
	}
	if err := os.Truncate(q.segPath(id), off); err != nil {
		return 0, fmt.Errorf("queue segment truncate: %w", err)
	}
	q.segs = append(q.segs, segment{id: id, size: off})
	q.bytes += off
	return hi, nil
}

func readRecord(r *bufio.Reader) (byte, []byte, int64, error) {
	var h [recHead]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, 0, err
	}
	l := binary.BigEndian.Uint32(h[0:4])
	if l > maxRec {
		return 0, nil, 0, errors.New("record too long")
	}
	p := make([]byte, l)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, 0, err
	}
	c := crc32.Update(crc32.Checksum(h[8:9], crcTable), crcTable, p)
	if c != binary.BigEndian.Uint32(h[4:8]) {
		return 0, nil, 0, errors.New("checksum mismatch")
	}
	if h[8] == recCut && l != 8 {
		return 0, nil, 0, errors.New("bad cut record")
	}
	return h[8], p, int64(recHead) + int64(l), nil
}

func (q *Queue) openTail() error {
	s := q.segs[len(q.segs)-1]
	f, err := os.OpenFile(q.segPath(s.id), os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("queue segment: %w", err)
	}
	q.w, q.bw = f, bufio.NewWriterSize(f, 1<<16)
	return nil
}

// roll starts a new segment; the caller has sealed the open batch.
func (q *Queue) roll() error {
	if q.w != nil {
		if err := q.w.Close(); err != nil {
			return fmt.Errorf("queue segment close: %w", err)
		}
	}
	id := uint64(0)
	if len(q.segs) > 0 {
		id = q.segs[len(q.segs)-1].id + 1
	}
	f, err := os.OpenFile(q.segPath(id), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("queue segment: %w", err)
	}
	q.segs = append(q.segs, segment{id: id})
	q.w, q.bw, q.openOff, q.openN = f, bufio.NewWriterSize(f, 1<<16), 0, 0
	return syncDir(q.dir)
}

func (q *Queue) writeRecord(typ byte, p []byte) {
	var h [recHead]byte
	binary.BigEndian.PutUint32(h[0:4], uint32(len(p)))
	h[8] = typ
	binary.BigEndian.PutUint32(h[4:8], crc32.Update(crc32.Checksum(h[8:9], crcTable), crcTable, p))
	q.bw.Write(h[:])
	q.bw.Write(p)
	s := &q.segs[len(q.segs)-1]
	s.size += int64(recHead + len(p))
	q.bytes += int64(recHead + len(p))
}

// Append writes encoded values to the open batch and hands them to the
// operating system (one write), so a kill -9 of the gateway does not lose them.
func (q *Queue) Append(vals [][]byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, v := range vals {
		if len(v) > maxRec {
			continue
		}
		q.writeRecord(recValue, v)
	}
	q.openN += len(vals)
	q.values += int64(len(vals))
	if err := q.bw.Flush(); err != nil {
		return fmt.Errorf("queue write: %w", err)
	}
	return nil
}

// Open is the number of values not yet sealed into a message.
func (q *Queue) Open() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.openN
}

// Cut seals the open values into the next message, syncs the segment to
// disk and rolls to a new segment when this one is full.
func (q *Queue) Cut() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.openN == 0 {
		return nil
	}
	s := q.segs[len(q.segs)-1]
	b := batch{seq: q.nextSeq, seg: s.id, off: q.openOff, end: s.size, n: q.openN}
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], b.seq)
	q.writeRecord(recCut, p[:])
	if err := q.bw.Flush(); err != nil {
		return fmt.Errorf("queue write: %w", err)
	}
	if err := q.w.Sync(); err != nil {
		return fmt.Errorf("queue sync: %w", err)
	}
	q.batches = append(q.batches, b)
	q.nextSeq++
	q.openOff, q.openN = q.segs[len(q.segs)-1].size, 0
	select {
	case q.notify <- struct{}{}:
	default:
	}
	if q.segs[len(q.segs)-1].size >= q.segMax {
		return q.roll()
	}
	return nil
}

// Notify is signalled when a message is sealed.
func (q *Queue) Notify() <-chan struct{} { return q.notify }

// Next returns the oldest sealed message with a seq above after.
func (q *Queue) Next(after uint64) (batch, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := sort.Search(len(q.batches), func(i int) bool { return q.batches[i].seq > after })
	if i == len(q.batches) {
		return batch{}, false
	}
	return q.batches[i], true
}

// Read returns the encoded values of a message.
func (q *Queue) Read(b batch) ([][]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	f, ok := q.readFile[b.seg]
	if !ok {
		var err error
		if f, err = os.Open(q.segPath(b.seg)); err != nil {
			return nil, fmt.Errorf("queue read: %w", err)
		}
		q.readFile[b.seg] = f
	}
	buf := make([]byte, b.end-b.off)
	if _, err := f.ReadAt(buf, b.off); err != nil {
		return nil, fmt.Errorf("queue read seq %d: %w", b.seq, err)
	}
	out := make([][]byte, 0, b.n)
	for len(buf) >= recHead {
		l := int(binary.BigEndian.Uint32(buf[0:4]))
		if recHead+l > len(buf) {
			return nil, fmt.Errorf("queue read seq %d: torn record", b.seq)
		}
		if buf[8] == recValue {
			out = append(out, buf[recHead:recHead+l])
		}
		buf = buf[recHead+l:]
	}
	return out, nil
}

// Ack records that the remote acknowledged every message up to seq.
func (q *Queue) Ack(seq uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if seq <= q.acked {
		return nil
	}
	q.acked = seq
	for len(q.batches) > 0 && q.batches[0].seq <= seq {
		q.values -= int64(q.batches[0].n)
		q.batches = q.batches[1:]
	}
	if err := writeCursor(q.cursorPath(), seq, false); err != nil {
		return err
	}
	return q.deleteAcked()
}

// deleteAcked removes every segment before the current one that holds no
// unacknowledged message; the cursor is synced first so that the seqs in
// them are never reused.
func (q *Queue) deleteAcked() error {
	keep := len(q.segs) - 1
	if len(q.batches) > 0 {
		for i, s := range q.segs {
			if s.id == q.batches[0].seg {
				keep = min(keep, i)
				break
			}
		}
	}
	if keep <= 0 {
		return nil
	}
	if err := writeCursor(q.cursorPath(), q.acked, true); err != nil {
		return err
	}
	for _, s := range q.segs[:keep] {
		if f, ok := q.readFile[s.id]; ok {
			f.Close()
			delete(q.readFile, s.id)
		}
		if err := os.Remove(q.segPath(s.id)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("queue delete segment: %w", err)
		}
		q.bytes -= s.size
	}
	q.segs = append([]segment(nil), q.segs[keep:]...)
	return nil
}

// DropOldest drops the oldest whole segment (never the one being written)
// to make room, and returns how many values it held.
func (q *Queue) DropOldest() (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.segs) < 2 {
		return 0, nil
	}
	first := q.segs[0].id
	n, last := 0, q.acked
	for len(q.batches) > 0 && q.batches[0].seg == first {
		n += q.batches[0].n
		last = q.batches[0].seq
		q.batches = q.batches[1:]
	}
	q.acked = max(q.acked, last)
	q.values -= int64(n)
	q.dropped += uint64(n)
	// the segment now holds no unacknowledged message
	return n, q.deleteAcked()
}

// Stats is the queue's size.
type Stats struct {
	Bytes, Values int64
	Messages      int
	Acked, Next   uint64
	Dropped       uint64
}

// Stats reports the queue's size.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Stats{Bytes: q.bytes, Values: q.values, Messages: len(q.batches), Acked: q.acked, Next: q.nextSeq, Dropped: q.dropped}
}

// Close closes the files; the open values stay on disk, unsealed.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for id, f := range q.readFile {
		f.Close()
		delete(q.readFile, id)
	}
	if q.w == nil {
		return nil
	}
	err := q.bw.Flush()
	return errors.Join(err, q.w.Close())
}

func readCursor(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("queue cursor: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("queue cursor %s: %w", path, err)
	}
	return n, nil
}

// writeCursor replaces the cursor file atomically (write, rename).
func writeCursor(path string, seq uint64, sync bool) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("queue cursor: %w", err)
	}
	_, err = f.WriteString(strconv.FormatUint(seq, 10) + "\n")
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil && sync {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("queue cursor: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}
