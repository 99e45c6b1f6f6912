package modbus

import (
	"context"
	"fmt"
)

// Read reads one datapoint from the device now (not the last polled
// value), holding the lock of its registers. It implements bus.Reader: the
// bus reads a `protect` datapoint before every write.
func (d *Device) Read(ctx context.Context, name string) (any, error) {
	f, ok := d.field(name)
	if !ok {
		return nil, fmt.Errorf("modbus %s: unknown datapoint %q", d.id, name)
	}
	unlock, err := d.conn.regs.lock(ctx, f.unitFor(d.unit), f.table, f.reg.Address, f.n)
	if err != nil {
		return nil, fmt.Errorf("modbus %s: %s: %w", d.id, name, err)
	}
	defer unlock()
	regs, bits, err := d.readField(ctx, f)
	if err != nil {
		return nil, err
	}
	if f.table.isBits() {
		return f.decodeBit(bits[0]), nil
	}
	v, err := f.decode(regs)
	if err != nil {
		return nil, fmt.Errorf("modbus %s: %s: %w", d.id, name, err)
	}
	return v, nil
}
