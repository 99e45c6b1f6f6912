package modbus

import (
	"context"
	"fmt"
	"slices"

	"github.com/gridbox/gridbox/model"
	"github.com/simonvetter/modbus"
)

// Write applies a value (already checked by the bus against the datapoint's
// limits) with FC 5 (coil), 6 (one register) or 16 (several registers) —
// FC 15 and 16 always when the register says write_multiple —
// reads the field back and returns the value the device holds. A read-back
// that differs from what was written is an error ("read back 30, wrote 40").
// The read-back value is also published on the sink given to Run.
//
// The whole write — for a bit field: read the register, change the field's
// bits, write it back; then the read-back — holds the lock of every register
// (or coil) it touches, shared by all devices on the connection. Two
// concurrent writes to two bits of one register therefore both survive;
// writes to other registers, units or connections do not wait for each
// other.
func (d *Device) Write(ctx context.Context, name string, v any) (any, error) {
	f, ok := d.field(name)
	switch {
	case !ok:
		return nil, fmt.Errorf("modbus %s: unknown datapoint %q", d.id, name)
	case f.kind != model.Actuator:
		return nil, model.ErrNotWritable
	case !f.table.writable():
		return nil, fmt.Errorf("modbus %s: %s is in the read-only %s table", d.id, name, f.table)
	}
	got, err := d.writeLocked(ctx, f, v)
	if err != nil {
		d.log.Warn("modbus write failed", "datapoint", name, "value", v, "err", err)
	}
	return got, err
}

// writeLocked writes f holding the locks of its registers (or coil).
func (d *Device) writeLocked(ctx context.Context, f *field, v any) (any, error) {
	unlock, err := d.conn.regs.lock(ctx, f.unitFor(d.unit), f.table, f.reg.Address, f.n)
	if err != nil {
		return nil, fmt.Errorf("modbus %s: %s: %w", d.id, f.reg.Name, err)
	}
	defer unlock()
	defer d.cache.drop(f.table, f.reg.Address, f.n)
	if f.table == coil {
		return d.writeCoil(ctx, f, v)
	}
	return d.writeRegisters(ctx, f, v)
}

func (d *Device) writeCoil(ctx context.Context, f *field, v any) (any, error) {
	b, err := f.encodeBit(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w, got %v", f.reg.Name, err, v)
	}
	err = d.request(ctx, f.unitFor(d.unit), func(c *modbus.ModbusClient) error {
		if f.reg.WriteMultiple {
			return c.WriteCoils(f.reg.Address, []bool{b})
		}
		return c.WriteCoil(f.reg.Address, b)
	})
	if err != nil {
		return nil, d.wrapWrite(f, err)
	}
	_, bits, err := d.readField(ctx, f)
	if err != nil {
		return nil, err
	}
	got := f.decodeBit(bits[0])
	d.publish(f, got)
	if bits[0] != b {
		return got, fmt.Errorf("%s: read back %v, wrote %v", f.reg.Name, bits[0], b)
	}
	return got, nil
}

func (d *Device) writeRegisters(ctx context.Context, f *field, v any) (any, error) {
	var cur []uint16
	if f.mask != 0 {
		var err error
		if cur, _, err = d.readField(ctx, f); err != nil {
			return nil, err
		}
	}
	regs, err := f.encode(v, cur)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.reg.Name, err)
	}
	err = d.request(ctx, f.unitFor(d.unit), func(c *modbus.ModbusClient) error {
		if len(regs) == 1 && !f.reg.WriteMultiple {
			return c.WriteRegister(f.reg.Address, regs[0])
		}
		return c.WriteRegisters(f.reg.Address, regs)
	})
	if err != nil {
		return nil, d.wrapWrite(f, err)
	}
	back, _, err := d.readField(ctx, f)
	if err != nil {
		return nil, err
	}
	got, derr := f.decode(back)
	if derr != nil {
		return nil, fmt.Errorf("%s: read back: %w", f.reg.Name, derr)
	}
	d.publish(f, got)
	if !f.sameWritten(back, regs) {
		return got, fmt.Errorf("%s: read back %v, wrote %v", f.reg.Name, fmtValue(got), fmtValue(v))
	}
	return got, nil
}

// sameWritten compares read-back registers with the written ones (only the
// field's bits for a bit field).
func (f *field) sameWritten(back, wrote []uint16) bool {
	if f.mask != 0 {
		return f.rawUint(back)&f.mask == f.rawUint(wrote)&f.mask
	}
	return slices.Equal(back, wrote)
}

// readField reads just the registers (or bit) of one field.
func (d *Device) readField(ctx context.Context, f *field) ([]uint16, []bool, error) {
	return d.readOne(ctx, read{table: f.table, start: f.reg.Address, count: f.n, fields: []*field{f}})
}

func (d *Device) wrapWrite(f *field, err error) error {
	return fmt.Errorf("modbus %s unit %d: write %s %d@%d: %w", d.conn.Key(), f.unitFor(d.unit), f.table, f.n, f.reg.Address, err)
}

// publish sends a read-back value to the sink given to Run, if any.
func (d *Device) publish(f *field, v any) {
	d.mu.Lock()
	sink := d.sink
	d.mu.Unlock()
	if sink != nil {
		d.ts.Begin()
		sink.Publish(d.value(f, v, model.Good, d.ts.Now()))
	}
}

func fmtValue(v any) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(v)
}
