// Package modbustest is a register-image Modbus TCP test harness: a dummy
// device that answers from maps of registers and bits, can answer chosen
// addresses with exceptions, counts requests, clips writes, and can be
// stopped and started again on the same port to simulate outages.
package modbustest

import (
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"sync/atomic"

	"github.com/simonvetter/modbus"
)

// Table names a Modbus data table.
type Table int

// The four Modbus tables.
const (
	Holding Table = iota
	Input
	Coil
	Discrete
)

// Image is the memory of one unit id. Addresses that were never set read
// as 0 (false) unless marked with Fail.
type Image struct {
	mu       sync.Mutex
	regs     [2]map[uint16]uint16 // holding, input
	bits     [2]map[uint16]bool   // coils, discrete inputs
	fail     [4]map[uint16]bool
	clip     map[uint16][2]uint16 // holding writes clipped to [lo, hi]
	requests atomic.Int64
	busy     atomic.Int64 // register requests still to answer "server busy"
}

func newImage() *Image {
	im := &Image{clip: map[uint16][2]uint16{}}
	for i := range im.regs {
		im.regs[i], im.bits[i] = map[uint16]uint16{}, map[uint16]bool{}
	}
	for i := range im.fail {
		im.fail[i] = map[uint16]bool{}
	}
	return im
}

// Set stores registers of the holding or input table from addr on.
func (im *Image) Set(t Table, addr uint16, regs ...uint16) {
	im.mu.Lock()
	defer im.mu.Unlock()
	for i, r := range regs {
		im.regs[t][addr+uint16(i)] = r
	}
}

// SetBits stores coils or discrete inputs from addr on.
func (im *Image) SetBits(t Table, addr uint16, bits ...bool) {
	im.mu.Lock()
	defer im.mu.Unlock()
	for i, b := range bits {
		im.bits[t-Coil][addr+uint16(i)] = b
	}
}

// Get returns n registers of the holding or input table from addr on.
func (im *Image) Get(t Table, addr uint16, n int) []uint16 {
	im.mu.Lock()
	defer im.mu.Unlock()
	out := make([]uint16, n)
	for i := range out {
		out[i] = im.regs[t][addr+uint16(i)]
	}
	return out
}

// Bit returns one coil or discrete input.
func (im *Image) Bit(t Table, addr uint16) bool {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.bits[t-Coil][addr]
}

// Fail makes every request that touches one of addrs answer exception 2
// (illegal data address).
func (im *Image) Fail(t Table, addrs ...uint16) {
	im.mu.Lock()
	defer im.mu.Unlock()
	for _, a := range addrs {
		im.fail[t][a] = true
	}
}

// Busy makes the next n register requests answer exception 6 (server
// device busy), as a Huawei inverter does when pressed.
func (im *Image) Busy(n int) { im.busy.Store(int64(n)) }

// Clip makes writes to a holding register store a value clipped to lo..hi.
func (im *Image) Clip(addr, lo, hi uint16) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.clip[addr] = [2]uint16{lo, hi}
}

// Requests returns how many requests this unit answered (exceptions included).
func (im *Image) Requests() int64 { return im.requests.Load() }

// ResetRequests sets the request counter to zero.
func (im *Image) ResetRequests() { im.requests.Store(0) }

func (im *Image) failing(t Table, addr, qty uint16) bool {
	for a := int(addr); a < int(addr)+int(qty); a++ {
		if im.fail[t][uint16(a)] {
			return true
		}
	}
	return false
}

// Server is a Modbus TCP server answering from per-unit images.
type Server struct {
	addr     string
	mu       sync.Mutex
	srv      *modbus.ModbusServer
	images   map[uint8]*Image
	requests atomic.Int64
}

// New returns a stopped server for 127.0.0.1 on a free port, with an empty
// image for unit 1.
func New() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return nil, err
	}
	return NewAt(addr), nil
}

// NewAt returns a stopped server that will listen on addr (host:port).
func NewAt(addr string) *Server {
	s := &Server{addr: addr, images: map[uint8]*Image{}}
	s.images[1] = newImage()
	return s
}

// Addr returns host:port.
func (s *Server) Addr() string { return s.addr }

// URL returns tcp://host:port.
func (s *Server) URL() string { return "tcp://" + s.addr }

// Unit returns the image of a unit id, creating it. Requests for units
// without an image answer exception 11 (gateway target failed to respond).
func (s *Server) Unit(id uint8) *Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	im, ok := s.images[id]
	if !ok {
		im = newImage()
		s.images[id] = im
	}
	return im
}

// Requests returns how many requests the server answered, all units.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Start starts listening (again, after Stop) on the same address.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	srv, err := modbus.NewServer(&modbus.ServerConfiguration{
		URL: "tcp://" + s.addr, MaxClients: 64, Logger: log.New(io.Discard, "", 0),
	}, handler{s})
	if err != nil {
		return fmt.Errorf("modbustest: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("modbustest: listen %s: %w", s.addr, err)
	}
	s.srv = srv
	return nil
}

// Stop closes the listener and every client connection.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	err := s.srv.Stop()
	s.srv = nil
	return err
}

func (s *Server) image(unit uint8) (*Image, error) {
	s.requests.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	im, ok := s.images[unit]
	if !ok {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	im.requests.Add(1)
	return im, nil
}
