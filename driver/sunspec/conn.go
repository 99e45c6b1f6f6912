package sunspec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/simonvetter/modbus"
)

// conns holds one connection per URL, shared by the devices behind it.
type conns struct {
	mu sync.Mutex
	m  map[string]*conn
}

func (cs *conns) get(url string, timeout time.Duration) *conn {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = map[string]*conn{}
	}
	c, ok := cs.m[url]
	if !ok {
		c = &conn{url: url, sem: make(chan struct{}, 1)}
		cs.m[url] = c
	}
	c.mu.Lock()
	c.timeout = max(c.timeout, timeout)
	c.mu.Unlock()
	return c
}

func (cs *conns) close() error {
	cs.mu.Lock()
	all := cs.m
	cs.m = nil
	cs.mu.Unlock()
	var errs []error
	for _, c := range all {
		errs = append(errs, c.close())
	}
	return errors.Join(errs...)
}

// conn is one Modbus connection. Requests are serialised; the socket is
// reopened after an I/O error, and every opening counts as a reconnect
// (gen), after which devices check their discovered layout.
type conn struct {
	url string
	sem chan struct{}

	mu      sync.Mutex // guards timeout
	timeout time.Duration

	// guarded by sem
	client *modbus.ModbusClient
	open   bool
	gen    uint64 // openings so far
}

// counter is told about each request and its error kind.
type counter interface {
	request()
	error(kind string)
}

// do runs fn on the open connection for unit, bounded by ctx.
func (c *conn) do(ctx context.Context, unit uint8, m counter, fn func(*modbus.ModbusClient) error) (gen uint64, err error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("waiting for connection %s: %w", c.url, ctx.Err())
	}
	defer func() { <-c.sem }()
	m.request()
	if err := c.openLocked(); err != nil {
		m.error(errorKind(err))
		return c.gen, fmt.Errorf("connect %s: %w", c.url, err)
	}
	if err := c.client.SetUnitId(unit); err != nil {
		return c.gen, err
	}
	err = fn(c.client)
	if err != nil {
		m.error(errorKind(err))
		if !isException(err) {
			c.closeLocked()
		}
	}
	return c.gen, err
}

func (c *conn) openLocked() error {
	if c.open {
		return nil
	}
	c.mu.Lock()
	timeout := c.timeout
	c.mu.Unlock()
	if c.client == nil {
		cl, err := modbus.NewClient(&modbus.ClientConfiguration{URL: c.url, Timeout: timeout, Logger: log.New(io.Discard, "", 0)})
		if err != nil {
			return err
		}
		c.client = cl
	}
	if err := c.client.Open(); err != nil {
		return err
	}
	c.open = true
	c.gen++
	return nil
}

func (c *conn) closeLocked() {
	if c.open {
		c.open = false
		_ = c.client.Close()
	}
}

func (c *conn) close() error {
	c.sem <- struct{}{}
	defer func() { <-c.sem }()
	c.closeLocked()
	return nil
}

// read reads n holding registers from addr.
func (c *conn) read(ctx context.Context, unit uint8, m counter, addr, n uint16) ([]uint16, uint64, error) {
	var regs []uint16
	gen, err := c.do(ctx, unit, m, func(cl *modbus.ModbusClient) error {
		var err error
		regs, err = cl.ReadRegisters(addr, n, modbus.HOLDING_REGISTER)
		return err
	})
	if err != nil {
		return nil, gen, fmt.Errorf("read %d@%d unit %d: %w", n, addr, unit, err)
	}
	return regs, gen, nil
}

// write writes holding registers from addr with one request.
func (c *conn) write(ctx context.Context, unit uint8, m counter, addr uint16, vals []uint16) error {
	_, err := c.do(ctx, unit, m, func(cl *modbus.ModbusClient) error {
		return cl.WriteRegisters(addr, vals)
	})
	if err != nil {
		return fmt.Errorf("write %d@%d unit %d: %w", len(vals), addr, unit, err)
	}
	return nil
}

// isException reports whether err is a Modbus exception (an answer).
func isException(err error) bool {
	var me modbus.Error
	if !errors.As(err, &me) {
		return false
	}
	switch me {
	case modbus.ErrIllegalFunction, modbus.ErrIllegalDataAddress, modbus.ErrIllegalDataValue,
		modbus.ErrServerDeviceFailure, modbus.ErrAcknowledge, modbus.ErrServerDeviceBusy,
		modbus.ErrMemoryParityError, modbus.ErrGWPathUnavailable, modbus.ErrGWTargetFailedToRespond:
		return true
	}
	return false
}

// errorKind classifies an error for the errors metric.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case isException(err):
		return "exception"
	case errors.Is(err, modbus.ErrRequestTimedOut) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	}
	return "io"
}
