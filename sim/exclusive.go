package sim

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// exclusive is implemented by devices that serve one Modbus TCP client at
// a time — a new connection closes the previous one — and ignore what a
// client sends within quietAfterConnect of its connect (Huawei).
type exclusive interface{ quietAfterConnect() time.Duration }

// front is a TCP front door for an exclusive device: it accepts clients on
// the public address and relays each to the library server listening on a
// private one, closing the previous client when a new one connects and
// dropping the bytes a client sends during the quiet time.
type front struct {
	ln    net.Listener
	inner string // the library server's address
	quiet time.Duration
	log   *slog.Logger

	mu   sync.Mutex
	cur  []net.Conn // the current client and its upstream connection
	done bool
	wg   sync.WaitGroup // the accept loop and the relays
}

// startFront listens on addr and relays to inner.
func startFront(addr, inner string, quiet time.Duration, log *slog.Logger) (*front, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &front{ln: ln, inner: inner, quiet: quiet, log: log}
	f.wg.Add(1)
	go f.accept()
	return f, nil
}

// addr is the public address (the actual port when 0 was asked for).
func (f *front) addr() string { return f.ln.Addr().String() }

func (f *front) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				f.log.Warn("accept", "err", err)
			}
			return
		}
		up, err := net.Dial("tcp", f.inner)
		if err != nil {
			f.log.Warn("relay dial", "err", err)
			c.Close()
			continue
		}
		f.mu.Lock()
		if f.done {
			f.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		for _, old := range f.cur { // one client at a time: the new one wins
			old.Close()
		}
		f.cur = []net.Conn{c, up}
		f.wg.Add(2)
		f.mu.Unlock()
		f.log.Debug("client connected; previous client closed", "remote", c.RemoteAddr().String())
		quietUntil := time.Now().Add(f.quiet)
		go f.relay(up, c, quietUntil)
		go f.relay(c, up, time.Time{})
	}
}

// relay copies src to dst, dropping what arrives before quietUntil, and
// closes both when either side ends.
func (f *front) relay(dst, src net.Conn, quietUntil time.Time) {
	defer f.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 && !time.Now().Before(quietUntil) {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		} else if n > 0 {
			f.log.Debug("request ignored: too soon after the connect", "bytes", n)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				f.log.Debug("relay", "err", err)
			}
			return
		}
	}
}

// close stops accepting, closes the current client and waits for the relays.
func (f *front) close() error {
	f.mu.Lock()
	f.done = true
	for _, c := range f.cur {
		c.Close()
	}
	f.mu.Unlock()
	err := f.ln.Close()
	f.wg.Wait()
	return err
}
