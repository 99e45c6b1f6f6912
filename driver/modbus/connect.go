package modbus

import (
	"context"
	"sync"
	"time"

	"github.com/simonvetter/modbus"
)

// connectGate waits connect_delay before the first request on a fresh
// connection (some devices, Huawei inverters for one, ignore requests that
// come right after the TCP connect). The connection is fresh at the start,
// after a request failed with an I/O error (the pool closes the
// connection then) and after a disconnect. One gate is shared by the
// devices behind one URL; its delay is the largest they ask for.
type connectGate struct {
	mu    sync.Mutex
	delay time.Duration
	fresh bool
}

// gateFor returns the gate of conn, raising its delay to at least delay.
func (d *Driver) gateFor(conn *Conn, delay time.Duration) *connectGate {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, ok := d.gates[conn]
	if !ok {
		g = &connectGate{fresh: true}
		d.gates[conn] = g
	}
	g.mu.Lock()
	g.delay = max(g.delay, delay)
	g.mu.Unlock()
	return g
}

// wrap returns fn preceded by the connect delay when the connection is
// fresh. It runs inside Conn.Do, holding the connection, so no other
// request slips in before the delay is over.
func (g *connectGate) wrap(ctx context.Context, fn func(*modbus.ModbusClient) error) func(*modbus.ModbusClient) error {
	if g == nil {
		return fn
	}
	return func(c *modbus.ModbusClient) error {
		g.mu.Lock()
		wait := g.fresh && g.delay > 0
		delay := g.delay
		g.fresh = false
		g.mu.Unlock()
		if wait {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				g.reset()
				return ctx.Err()
			case <-t.C:
			}
		}
		return fn(c)
	}
}

// after notes a request's outcome: an I/O error closes the connection, so
// the next request runs on a fresh one.
func (g *connectGate) after(err error) {
	if g != nil && err != nil && !isException(err) {
		g.reset()
	}
}

// reset marks the connection fresh (closed or about to be reopened).
func (g *connectGate) reset() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.fresh = true
	g.mu.Unlock()
}
