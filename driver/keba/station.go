package keba

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errTimeout is a request the station did not answer in time.
var errTimeout = errors.New("no answer")

// station talks to one KEBA over a shared port: one request at a time, at
// least gap apart, each answer matched by source address and report ID.
type station struct {
	addr    netip.AddrPort
	port    *port
	in      chan datagram
	timeout time.Duration
	gap     time.Duration
	bad     func(kind string, err error) // counts a malformed answer

	mu   sync.Mutex // one request at a time
	last time.Time  // when the last request was sent
}

// resolve turns host:port into one address.
func resolve(ctx context.Context, hostport string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("resolve %s: %v", host, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %w", port, err)
	}
	return netip.AddrPortFrom(ips[0].Unmap(), uint16(p)), nil
}

// send waits for the gap, drains stale datagrams and sends msg.
func (s *station) send(ctx context.Context, msg string) error {
	if wait := s.gap - time.Since(s.last); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	for len(s.in) > 0 {
		<-s.in // unsolicited or late answers of earlier requests
	}
	s.last = time.Now()
	return s.port.send(ctx, s.addr, msg)
}

// report asks for report n and returns its fields. Unsolicited datagrams
// and reports with another ID are skipped; malformed ones are counted.
func (s *station) report(ctx context.Context, n int) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.send(ctx, fmt.Sprintf("report %d", n)); err != nil {
		return nil, err
	}
	return s.await(ctx, func(d datagram) (map[string]any, bool) {
		if bytes.HasPrefix(d.data, []byte("TCH-")) {
			return nil, false
		}
		var m map[string]any
		if err := json.Unmarshal(d.data, &m); err != nil {
			s.bad("json", fmt.Errorf("report %d: %w (%.60q)", n, err, d.data))
			return nil, false
		}
		id, ok := m["ID"]
		return m, ok && fmt.Sprint(id) == strconv.Itoa(n)
	})
}

// command sends a write command and waits for TCH-OK.
func (s *station) command(ctx context.Context, cmd string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.send(ctx, cmd); err != nil {
		return err
	}
	var answer string
	_, err := s.await(ctx, func(d datagram) (map[string]any, bool) {
		answer = strings.TrimSpace(string(d.data))
		return nil, strings.HasPrefix(answer, "TCH-")
	})
	if err != nil {
		return err
	}
	if !strings.HasPrefix(answer, "TCH-OK") {
		return fmt.Errorf("%q: station answered %q", cmd, answer)
	}
	return nil
}

// await reads datagrams until match accepts one or the timeout passes.
func (s *station) await(ctx context.Context, match func(datagram) (map[string]any, bool)) (map[string]any, error) {
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			return nil, errTimeout
		case d := <-s.in:
			if d.oversized {
				s.bad("oversized", fmt.Errorf("datagram of more than %d bytes", maxDatagram))
				continue
			}
			if m, ok := match(d); ok {
				return m, nil
			}
		}
	}
}
