package modbustest

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
)

// Sniffer is a TCP proxy in front of a Modbus TCP server that records the
// function code of every request passing through it, so tests can check
// which function a client used (the server side cannot tell FC 6 from 16).
type Sniffer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	codes  []byte
	conns  int
	wg     sync.WaitGroup
}

// Sniff starts a proxy on a free loopback port forwarding to target.
func Sniff(target string) (*Sniffer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sniffer{ln: ln, target: target}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// URL is the proxy's tcp:// URL.
func (s *Sniffer) URL() string { return "tcp://" + s.ln.Addr().String() }

// Codes returns the function codes seen so far, in order.
func (s *Sniffer) Codes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.codes...)
}

// Conns returns how many client connections the proxy accepted so far.
func (s *Sniffer) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Close stops accepting; open connections end when either side closes.
func (s *Sniffer) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Sniffer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		up, err := net.Dial("tcp", s.target)
		if err != nil {
			c.Close()
			continue
		}
		go func() { io.Copy(c, up); c.Close() }()
		go func() { s.requests(c, up); up.Close() }()
	}
}

// requests forwards client frames to up, recording each function code.
func (s *Sniffer) requests(c net.Conn, up net.Conn) {
	hdr := make([]byte, 7)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[4:6])) - 1 // PDU bytes after the unit id
		if n < 1 {
			return
		}
		pdu := make([]byte, n)
		if _, err := io.ReadFull(c, pdu); err != nil {
			return
		}
		s.mu.Lock()
		s.codes = append(s.codes, pdu[0])
		s.mu.Unlock()
		if _, err := up.Write(append(append([]byte(nil), hdr...), pdu...)); err != nil {
			return
		}
	}
}
