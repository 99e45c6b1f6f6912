package modbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simonvetter/modbus"
)

// target is a parsed device URL: transport, address and serial settings.
type target struct {
	scheme string // tcp, udp, rtu, rtuovertcp, rtuoverudp
	addr   string // host:port or serial device path
	speed  uint
	data   uint
	stop   uint
	parity uint
	unit   int // from ?unit=N; -1 when absent
}

// key identifies one physical connection: devices with the same key share it.
func (t target) key() string { return t.scheme + "://" + t.addr }

// serialFramed reports whether the connection is a serial bus (RTU framing
// on a serial port or tunnelled over TCP/UDP), where a timeout means one
// silent unit rather than a broken connection.
func (t target) serialFramed() bool { return strings.HasPrefix(t.scheme, "rtu") }

// parseURL parses tcp://host:port (port 502 by default), rtu:///dev/ttyUSB0?baud=9600&parity=N
// and the other schemes the wire library supports.
func parseURL(s string) (target, error) {
	t := target{unit: -1}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return t, fmt.Errorf("%q has no scheme (want tcp://host:port, rtu:///dev/ttyUSB0 or rtuovertcp://host:port)", s)
	}
	t.scheme = scheme
	path, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return t, fmt.Errorf("%q: bad query: %v", s, err)
	}
	switch scheme {
	case "tcp", "udp", "rtuovertcp", "rtuoverudp":
		t.addr, err = hostPort(path)
	case "rtu":
		t.addr = path
		if path == "" {
			err = errors.New("missing serial device (like rtu:///dev/ttyUSB0)")
		}
	default:
		err = fmt.Errorf("unsupported scheme %q (want tcp, rtu, rtuovertcp, rtuoverudp or udp)", scheme)
	}
	if err != nil {
		return t, fmt.Errorf("%q: %v", s, err)
	}
	if err := t.applyQuery(q); err != nil {
		return t, fmt.Errorf("%q: %v", s, err)
	}
	return t, nil
}

func hostPort(s string) (string, error) {
	if s == "" || strings.Contains(s, "/") {
		return "", errors.New("want host:port")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return net.JoinHostPort(s, "502"), nil
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("port %q is not 1..65535", port)
	}
	if host == "" {
		return "", errors.New("missing host")
	}
	return s, nil
}

func (t *target) applyQuery(q url.Values) error {
	for k, vs := range q {
		v := vs[len(vs)-1]
		n, err := strconv.Atoi(v)
		switch k {
		case "unit":
			if err != nil || n < 0 || n > 255 {
				return fmt.Errorf("unit %q is not 0..255", v)
			}
			t.unit = n
		case "baud":
			if err != nil || n <= 0 {
				return fmt.Errorf("baud %q is not a positive number", v)
			}
			t.speed = uint(n)
		case "data_bits":
			if err != nil || n < 5 || n > 8 {
				return fmt.Errorf("data_bits %q is not 5..8", v)
			}
			t.data = uint(n)
		case "stop_bits":
			if err != nil || n < 1 || n > 2 {
				return fmt.Errorf("stop_bits %q is not 1 or 2", v)
			}
			t.stop = uint(n)
		case "parity":
			p := strings.Index("NEO", strings.ToUpper(v[:min(1, len(v))]))
			if p < 0 || v == "" {
				return fmt.Errorf("parity %q is not N, E or O", v)
			}
			t.parity = uint(p)
		default:
			return fmt.Errorf("unknown query parameter %q (known: unit, baud, parity, data_bits, stop_bits)", k)
		}
	}
	return nil
}

// Pool holds one shared connection per device URL. Requests on one
// connection are serialised; each sets its own unit id.
type Pool struct {
	mu    sync.Mutex
	conns map[string]*Conn
}

// NewPool returns an empty pool.
func NewPool() *Pool { return &Pool{conns: map[string]*Conn{}} }

// conn returns the shared connection for t. The connection's timeout and
// pause are the largest any of its users asked for.
func (p *Pool) conn(t target, timeout, pause time.Duration) *Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.conns[t.key()]
	if !ok {
		c = &Conn{t: t, sem: make(chan struct{}, 1)}
		p.conns[t.key()] = c
	}
	c.mu.Lock()
	c.timeout = max(c.timeout, timeout)
	c.pause = max(c.pause, pause)
	c.mu.Unlock()
	return c
}

// Close closes every connection of the pool.
func (p *Pool) Close() error {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[string]*Conn{}
	p.mu.Unlock()
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.Disconnect(context.Background()))
	}
	return errors.Join(errs...)
}

// Conn is one connection of the pool, shared by the devices behind one URL.
type Conn struct {
	t   target
	sem chan struct{} // held while a request runs

	regs registerLocks // one write at a time per register, shared by the devices (write.go)

	mu      sync.Mutex // guards timeout, pause, users
	timeout time.Duration
	pause   time.Duration
	users   int

	// guarded by sem
	client   *modbus.ModbusClient
	clientT  time.Duration // timeout the client was built with
	open     bool
	last     time.Time
	timeouts int // timeouts in a row, no unit answering in between
}

// errBusy marks a request that gave up waiting for its turn on the connection.
var errBusy = errors.New("connection busy")

// Key returns the connection's identity (scheme://address).
func (c *Conn) Key() string { return c.t.key() }

// acquire takes the connection or gives up when ctx is done.
func (c *Conn) acquire(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for connection %s: %w: %w", c.Key(), errBusy, ctx.Err())
	}
}

func (c *Conn) release() { <-c.sem }

// Do runs fn with the connection opened and set to unit, after the pause
// since the previous request. The connection is closed after an I/O error
// so the next request reopens it; Modbus exceptions keep it open. On a
// serial bus a timeout keeps it open too (one unit is silent, the others
// answer), unless it is the second timeout in a row, and so does a CRC
// error (the wire library drained the line). Any other bad frame — most
// often a late answer to an earlier request that timed out — closes it,
// which drops what is still buffered: the next request starts in sync.
func (c *Conn) Do(ctx context.Context, unit uint8, fn func(*modbus.ModbusClient) error) error {
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	if err := c.waitPause(ctx); err != nil {
		return err
	}
	if err := c.openLocked(); err != nil {
		return err
	}
	if err := c.client.SetUnitId(unit); err != nil {
		return err
	}
	err := fn(c.client)
	c.last = time.Now()
	switch {
	case err == nil || isException(err):
		c.timeouts = 0
	case isTimeout(err) && c.t.serialFramed():
		c.timeouts++
		if c.timeouts >= 2 {
			c.closeLocked()
			c.timeouts = 0
		}
	case errors.Is(err, modbus.ErrBadCRC) && c.t.serialFramed():
		c.timeouts = 0 // something answered; the wire library drained the line
	default:
		c.closeLocked()
	}
	return err
}

func (c *Conn) waitPause(ctx context.Context) error {
	c.mu.Lock()
	pause := c.pause
	c.mu.Unlock()
	wait := time.Until(c.last.Add(pause))
	if pause <= 0 || wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Conn) openLocked() error {
	c.mu.Lock()
	timeout := c.timeout
	c.mu.Unlock()
	if c.client == nil || c.clientT != timeout {
		c.closeLocked()
		cl, err := modbus.NewClient(&modbus.ClientConfiguration{
			URL: c.Key(), Timeout: timeout, Speed: c.t.speed, DataBits: c.t.data,
			StopBits: c.t.stop, Parity: c.t.parity, Logger: log.New(io.Discard, "", 0),
		})
		if err != nil {
			return fmt.Errorf("modbus %s: %w", c.Key(), err)
		}
		c.client, c.clientT = cl, timeout
	}
	if c.open {
		return nil
	}
	if err := c.client.Open(); err != nil {
		return err
	}
	c.open = true
	return nil
}

func (c *Conn) closeLocked() error {
	if !c.open {
		return nil
	}
	c.open = false
	return c.client.Close()
}

// Disconnect closes the connection; the next request reopens it.
func (c *Conn) Disconnect(ctx context.Context) error {
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	return c.closeLocked()
}

// enter and leave count running devices; the socket is closed when the
// last one stops.
func (c *Conn) enter() {
	c.mu.Lock()
	c.users++
	c.mu.Unlock()
}

func (c *Conn) leave() {
	c.mu.Lock()
	c.users--
	last := c.users == 0
	c.mu.Unlock()
	if last {
		_ = c.Disconnect(context.Background())
	}
}

// isException reports whether err is a Modbus exception answered by the
// device (the connection itself is fine).
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

// isFrameError reports whether err is a bad frame on an RTU line (CRC,
// length, an answer from another unit).
func isFrameError(err error) bool {
	return errors.Is(err, modbus.ErrBadCRC) || errors.Is(err, modbus.ErrShortFrame) ||
		errors.Is(err, modbus.ErrProtocolError) || errors.Is(err, modbus.ErrBadUnitId)
}

// isTimeout reports whether err is a request or dial timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, modbus.ErrRequestTimedOut) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}
