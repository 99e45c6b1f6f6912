package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// mbapLen is the length of the Modbus TCP header (transaction id, protocol
// id, length, unit id).
const mbapLen = 7

// faultFront is a Modbus TCP front door that injects Faults: it reads each
// request frame from a client, and forwards it to the library server (one
// upstream connection per client), drops it, or answers it wrongly.
type faultFront struct {
	ln    net.Listener
	inner string
	log   *slog.Logger

	mu    sync.Mutex // guards rng, conns and done
	rng   *faultRNG
	conns map[net.Conn]struct{} // open client and upstream connections
	done  bool

	closed   chan struct{}
	wg       sync.WaitGroup
	injected [5]atomic.Uint64 // by fault, plus halfopen at index 4
}

// startFaultFront listens on addr and relays to inner, injecting f.
func startFaultFront(addr, inner string, f Faults, log *slog.Logger) (*faultFront, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ff := &faultFront{ln: ln, inner: inner, log: log, rng: newFaultRNG(f),
		conns: map[net.Conn]struct{}{}, closed: make(chan struct{})}
	ff.wg.Add(1)
	go ff.accept()
	return ff, nil
}

func (ff *faultFront) addr() string { return ff.ln.Addr().String() }

func (ff *faultFront) accept() {
	defer ff.wg.Done()
	for {
		c, err := ff.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				ff.log.Warn("faults: accept", "err", err)
			}
			return
		}
		up, err := net.Dial("tcp", ff.inner)
		if err != nil {
			ff.log.Warn("faults: relay dial", "err", err)
			c.Close()
			continue
		}
		if !ff.track(c, up) {
			return
		}
		go ff.serve(c, up)
	}
}

// track registers a client and its upstream connection; false when the
// front is closing (both are closed then).
func (ff *faultFront) track(c, up net.Conn) bool {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	if ff.done {
		c.Close()
		up.Close()
		return false
	}
	ff.conns[c], ff.conns[up] = struct{}{}, struct{}{}
	ff.wg.Add(1)
	return true
}

// untrack closes and forgets connections.
func (ff *faultFront) untrack(cs ...net.Conn) {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(ff.conns, c)
	}
}

// clients returns how many client connections are open.
func (ff *faultFront) clients() int {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	return len(ff.conns) / 2
}

// serve relays one client's requests until it or the front closes.
func (ff *faultFront) serve(c, up net.Conn) {
	defer ff.wg.Done()
	defer ff.untrack(c, up)
	ff.mu.Lock()
	silentAfter := -1
	if ff.rng.f.HalfOpen {
		silentAfter = ff.rng.halfOpenAfter()
	}
	ff.mu.Unlock()
	for n := 0; ; n++ {
		if n == silentAfter {
			// Half-open: the peer is gone but the socket stays; what the client
			// sends is never answered. It ends when the client gives up.
			ff.injected[4].Add(1)
			ff.log.Debug("faults: connection goes half-open", "remote", c.RemoteAddr().String())
			_, _ = io.Copy(io.Discard, c)
			return
		}
		req, err := readFrame(c)
		if err != nil {
			return
		}
		if err := ff.answer(c, up, req); err != nil {
			ff.log.Debug("faults: relay", "err", err)
			return
		}
	}
}

// answer handles one request frame according to the next fault.
func (ff *faultFront) answer(c, up net.Conn, req []byte) error {
	ff.mu.Lock()
	kind := ff.rng.next()
	slow := ff.rng.f.Slow
	ff.mu.Unlock()
	ff.injected[kind].Add(1)
	var resp []byte
	switch kind {
	case dropRequest:
		return nil
	case answerException:
		resp = exceptionFrame(req, 0x04)
	default:
		if _, err := up.Write(req); err != nil {
			return fmt.Errorf("upstream write: %w", err)
		}
		var err error
		if resp, err = readFrame(up); err != nil {
			return fmt.Errorf("upstream read: %w", err)
		}
		if kind == answerGarbage {
			ff.garble(resp)
		}
	}
	if slow > 0 {
		select {
		case <-time.After(slow):
		case <-ff.closed:
			return net.ErrClosed
		}
	}
	_, err := c.Write(resp)
	return err
}

// garble replaces a response's transaction id by another one and its
// function code and data by random bytes (the length stays consistent).
func (ff *faultFront) garble(resp []byte) {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	tid := binary.BigEndian.Uint16(resp[0:2])
	binary.BigEndian.PutUint16(resp[0:2], tid+1+uint16(ff.rng.r.IntN(1000)))
	ff.rng.fill(resp[mbapLen:])
}

// exceptionFrame is the exception response with code to req.
func exceptionFrame(req []byte, code byte) []byte {
	resp := make([]byte, mbapLen+2)
	copy(resp, req[:mbapLen])
	binary.BigEndian.PutUint16(resp[4:6], 3)
	resp[mbapLen], resp[mbapLen+1] = req[mbapLen]|0x80, code
	return resp
}

// readFrame reads one Modbus TCP frame (header and PDU).
func readFrame(r io.Reader) ([]byte, error) {
	hdr := make([]byte, mbapLen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[4:6]))
	if n < 2 || n > 254 {
		return nil, fmt.Errorf("bad Modbus TCP length %d", n)
	}
	frame := make([]byte, mbapLen+n-1)
	copy(frame, hdr)
	if _, err := io.ReadFull(r, frame[mbapLen:]); err != nil {
		return nil, err
	}
	return frame, nil
}

// close stops accepting and closes every connection, then waits for the relays.
func (ff *faultFront) close() error {
	err := ff.ln.Close()
	ff.mu.Lock()
	ff.done = true
	close(ff.closed)
	for c := range ff.conns {
		c.Close()
	}
	ff.mu.Unlock()
	ff.wg.Wait()
	return err
}
