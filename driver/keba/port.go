package keba

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// maxDatagram caps what is read of one datagram; a longer one is oversized.
const maxDatagram = 4096

// datagram is one answer of a station.
type datagram struct {
	data      []byte
	oversized bool
}

// ports are the local UDP ports of one driver, shared by the stations
// that listen on the same address; answers are matched by source address.
type ports struct {
	mu    sync.Mutex
	byKey map[string]*port
	log   *slog.Logger
}

// port is one local UDP socket with its reader.
type port struct {
	conn  *net.UDPConn
	users int
	done  chan struct{}

	mu       sync.Mutex
	stations map[string]chan datagram // by source address
}

// join opens (or shares) the port listen and routes datagrams from
// station to the returned channel until leave is called.
func (ps *ports) join(listen string, station netip.AddrPort) (*port, chan datagram, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.byKey[listen]
	if !ok {
		la, err := net.ResolveUDPAddr("udp", listen)
		if err != nil {
			return nil, nil, fmt.Errorf("listen %s: %w", listen, err)
		}
		conn, err := net.ListenUDP("udp", la)
		if err != nil {
			return nil, nil, fmt.Errorf("listen %s: %w", listen, err)
		}
		p = &port{conn: conn, done: make(chan struct{}), stations: map[string]chan datagram{}}
		ps.byKey[listen] = p
		go p.read(ps.log)
	}
	key := addrKey(station)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, taken := p.stations[key]; taken {
		if p.users == 0 {
			ps.closeLocked(listen, p)
		}
		return nil, nil, fmt.Errorf("station %s is already read through %s", key, listen)
	}
	ch := make(chan datagram, 16)
	p.stations[key] = ch
	p.users++
	return p, ch, nil
}

// leave stops routing datagrams of station and closes the port with its last user.
func (ps *ports) leave(listen string, station netip.AddrPort) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p, ok := ps.byKey[listen]
	if !ok {
		return
	}
	p.mu.Lock()
	delete(p.stations, addrKey(station))
	p.users--
	users := p.users
	p.mu.Unlock()
	if users == 0 {
		ps.closeLocked(listen, p)
	}
}

func (ps *ports) closeLocked(listen string, p *port) {
	delete(ps.byKey, listen)
	p.conn.Close()
	<-p.done
}

// read routes every datagram to its station until the socket closes.
// Datagrams from other senders are dropped.
func (p *port) read(log *slog.Logger) {
	defer close(p.done)
	buf := make([]byte, maxDatagram+1)
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			log.Debug("keba: read", "err", err)
			time.Sleep(10 * time.Millisecond) // a transient error (ICMP): do not spin
			continue
		}
		p.mu.Lock()
		ch, ok := p.stations[addrKey(from)]
		p.mu.Unlock()
		if !ok {
			log.Debug("keba: datagram from an unknown sender dropped", "from", from)
			continue
		}
		d := datagram{data: append([]byte(nil), buf[:min(n, maxDatagram)]...), oversized: n > maxDatagram}
		select {
		case ch <- d:
		default: // the station's reader is behind: drop, as UDP would
		}
	}
}

// send writes one request to station.
func (p *port) send(ctx context.Context, station netip.AddrPort, msg string) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = p.conn.SetWriteDeadline(dl)
	}
	_, err := p.conn.WriteToUDPAddrPort([]byte(msg), station)
	return err
}

// addrKey is an address without the IPv4-in-IPv6 mapping of dual-stack sockets.
func addrKey(a netip.AddrPort) string { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()).String() }
