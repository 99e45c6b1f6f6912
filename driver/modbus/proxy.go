package modbus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/simonvetter/modbus"
)

// This file is the capability the Modbus proxy (driver/modbus/proxy) uses
// of a running device: its requests go through the device's own shared
// connection, serialised with the poller, so the device sees one
// connection, ever. Tables are named as in the register map: holding,
// input, coil, discrete.

// ProxyRead returns count registers (or bits) of a table from address
// addr: from the poller's last reads when every one of them is younger
// than maxAge (cached is true), else with one request on the device's
// connection — none while the device is offline (modbus.ErrGWTargetFailedToRespond).
// Errors from the device keep their type (a modbus.Error for an
// exception, a timeout, ...).
func (d *Device) ProxyRead(ctx context.Context, tableName string, addr, count uint16, maxAge time.Duration) (regs []uint16, bits []bool, cached bool, err error) {
	t, ok := parseTable(tableName)
	if !ok {
		return nil, nil, false, fmt.Errorf("modbus %s: unknown table %q", d.id, tableName)
	}
	if maxAge > 0 {
		if regs, bits, ok := d.cache.get(t, addr, count, time.Now().Add(-maxAge)); ok {
			return regs, bits, true, nil
		}
	}
	if err := d.offline(); err != nil {
		return nil, nil, false, err
	}
	err = d.once(ctx, d.unit, func(c *modbus.ModbusClient) error {
		var err error
		regs, bits, err = readTable(c, t, addr, count)
		return err
	})
	return regs, bits, false, err
}

// offline returns an error without a request while the poller has the
// device offline: its probes (with backoff) decide when it is back, so a
// proxy client cannot cost a shared bus a timeout per request.
func (d *Device) offline() error {
	d.mu.Lock()
	down := d.down
	d.mu.Unlock()
	if down {
		return fmt.Errorf("modbus %s: device offline: %w", d.id, modbus.ErrGWTargetFailedToRespond)
	}
	return nil
}

// ProxyWrite writes registers (or coils) as they are, with one request on
// the device's connection: for a proxy that allows writes to registers no
// datapoint maps. The limits of datapoints do not apply; use
// ProxyDatapoint first.
func (d *Device) ProxyWrite(ctx context.Context, tableName string, addr uint16, regs []uint16, bits []bool) error {
	t, ok := parseTable(tableName)
	if !ok || !t.writable() {
		return fmt.Errorf("modbus %s: table %q cannot be written", d.id, tableName)
	}
	if err := d.offline(); err != nil {
		return err
	}
	n := uint16(max(len(regs), len(bits)))
	unlock, err := d.conn.regs.lock(ctx, d.unit, t, addr, n)
	if err != nil {
		return fmt.Errorf("modbus %s: %w", d.id, err)
	}
	defer unlock()
	defer d.cache.drop(t, addr, n)
	return d.once(ctx, d.unit, func(c *modbus.ModbusClient) error {
		switch {
		case t == coil && len(bits) == 1:
			return c.WriteCoil(addr, bits[0])
		case t == coil:
			return c.WriteCoils(addr, bits)
		case len(regs) == 1:
			return c.WriteRegister(addr, regs[0])
		}
		return c.WriteRegisters(addr, regs)
	})
}

// ProxyDatapoint maps a write of regs (or bits) at addr to the datapoint
// whose registers it covers exactly, and decodes the written raw value into
// that datapoint's value (scale, offset and map applied) — so that the
// write can go through the bus's write path with its limits and audit.
// found is false when no datapoint covers exactly these registers (a bit
// field shares its register with others: it is never found); err is set
// when the raw value does not decode.
func (d *Device) ProxyDatapoint(tableName string, addr uint16, regs []uint16, bits []bool) (name string, v any, found bool, err error) {
	t, ok := parseTable(tableName)
	if !ok {
		return "", nil, false, nil
	}
	n := uint16(max(len(regs), len(bits)))
	for _, f := range d.fields {
		if f.table != t || f.reg.Address != addr || f.n != n || f.mask != 0 {
			continue
		}
		if t.isBits() {
			return f.reg.Name, f.decodeBit(bits[0]), true, nil
		}
		v, err := f.decode(regs)
		return f.reg.Name, v, true, err
	}
	return "", nil, false, nil
}

// regCache holds the registers and bits of the poller's last successful
// reads, each with the time it was read.
type regCache struct {
	mu    sync.Mutex
	cells map[cellKey]cell
}

type cellKey struct {
	t    table
	addr uint16
}

type cell struct {
	reg uint16
	bit bool
	at  time.Time
}

// put stores one read's answer.
func (c *regCache) put(t table, start uint16, regs []uint16, bits []bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cells == nil {
		c.cells = map[cellKey]cell{}
	}
	for i, r := range regs {
		c.cells[cellKey{t, start + uint16(i)}] = cell{reg: r, at: now}
	}
	for i, b := range bits {
		c.cells[cellKey{t, start + uint16(i)}] = cell{bit: b, at: now}
	}
}

// get returns count cells from addr when every one was read after since.
func (c *regCache) get(t table, addr, count uint16, since time.Time) ([]uint16, []bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var regs []uint16
	var bits []bool
	for i := range count {
		x, ok := c.cells[cellKey{t, addr + i}]
		if !ok || x.at.Before(since) {
			return nil, nil, false
		}
		if t.isBits() {
			bits = append(bits, x.bit)
		} else {
			regs = append(regs, x.reg)
		}
	}
	return regs, bits, true
}

// drop forgets count cells from addr (they were written).
func (c *regCache) drop(t table, addr, count uint16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range count {
		delete(c.cells, cellKey{t, addr + i})
	}
}
