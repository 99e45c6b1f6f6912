package sunspec

import (
	"context"
	"fmt"

	"github.com/gridbox/gridbox/model"
)

// control is how a writable point is written: its limits, and the enable
// point set to 1 in the same Modbus write.
type control struct {
	min, max *float64
	allowed  []any
	enable   string
}

// controlFor returns the write behaviour of a point, nil for points that
// stay sensors: 123 WMaxLimPct (with WMaxLim_Ena = 1) and WMaxLim_Ena,
// 704 WMaxLimPct (with WMaxLimPctEna = 1) and WMaxLimPctEna, and the
// storage limits of 124 (WChaMax, InWRte, OutWRte, StorCtl_Mod).
func controlFor(id uint16, name string) *control {
	rng := func(lo, hi float64) *control { return &control{min: &lo, max: &hi} }
	onOff := &control{allowed: []any{0.0, 1.0}}
	switch {
	case id == 123 && name == "WMaxLimPct":
		c := rng(0, 100)
		c.enable = "WMaxLim_Ena"
		return c
	case id == 704 && name == "WMaxLimPct":
		c := rng(0, 100)
		c.enable = "WMaxLimPctEna"
		return c
	case id == 123 && name == "WMaxLim_Ena", id == 704 && name == "WMaxLimPctEna":
		return onOff
	case id == 124 && (name == "InWRte" || name == "OutWRte"):
		return rng(-100, 100)
	case id == 124 && name == "WChaMax":
		lo := 0.0
		return &control{min: &lo}
	case id == 124 && name == "StorCtl_Mod":
		return &control{allowed: []any{0.0, 1.0, 2.0, 3.0}}
	}
	return nil
}

// Write writes a datapoint of the first logical device (driver.Writer).
func (d *Device) Write(ctx context.Context, name string, v any) (any, error) {
	return d.write(ctx, d.cfg.ID, name, v)
}

// logicalWriter writes the datapoints of a further logical device.
type logicalWriter struct {
	d  *Device
	id string
}

func (w logicalWriter) Write(ctx context.Context, name string, v any) (any, error) {
	return w.d.write(ctx, w.id, name, v)
}

// write reads the point's model, writes the point (and its enable point)
// with one request and returns the value read back.
func (d *Device) write(ctx context.Context, id, name string, v any) (any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dp := d.find(id, name)
	if dp == nil || dp.ctl == nil {
		return nil, fmt.Errorf("%s/%s: %w", id, name, model.ErrNotWritable)
	}
	f, ok := model.AsFloat(v)
	if !ok {
		return nil, fmt.Errorf("%s/%s: want a number, got %T", id, name, v)
	}
	in := dp.inst
	im, err := d.readModel(ctx, dp)
	if err != nil {
		return nil, err
	}
	lo, regs, err := dp.encode(im, f)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", id, name, err)
	}
	wctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout.D())
	defer cancel()
	if err := d.conn.write(wctx, dp.unit, d.m, lo, regs); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", id, name, err)
	}
	d.log.Info("sunspec write", "logical_device", id, "datapoint", name, "value", f, "address", lo, "registers", regs)
	back, err := d.readModel(ctx, dp)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: read-back: %w", id, name, err)
	}
	d.im[dp.unit].put(in.Addr, mustGet(back, in.Addr, 2+in.Len))
	return dp.value(back)
}

// encode returns the registers of one write of f to dp, from the first
// register written: the point at its scale factor in im (the model as just
// read) and the enable point set to 1, with the registers between them as
// they are.
func (dp *dpoint) encode(im image, f float64) (uint16, []uint16, error) {
	sf := 0
	if dp.sfAddr >= 0 {
		s, _ := im.get(uint16(dp.sfAddr), 1)
		x, ok := decodeRaw(SunSSF, s).(float64)
		if !ok {
			return 0, nil, fmt.Errorf("scale factor %s is not implemented", dp.p.SF)
		}
		sf = int(x)
	}
	raw, err := encodeRaw(dp.p.Type, f, sf)
	if err != nil {
		return 0, nil, err
	}
	lo, hi := dp.addr, dp.addr+uint16(len(raw))
	im.put(dp.addr, raw)
	if dp.ctl.enable != "" {
		ea := dp.inst.Addr + dp.inst.def.point(dp.ctl.enable).Offset
		im.put(ea, []uint16{1})
		lo, hi = min(lo, ea), max(hi, ea+1)
	}
	regs, ok := im.get(lo, hi-lo)
	if !ok {
		return 0, nil, fmt.Errorf("registers %d..%d were not read", lo, hi-1)
	}
	return lo, regs, nil
}

// readModel reads the whole model of dp (header included) and checks its id.
func (d *Device) readModel(ctx context.Context, dp *dpoint) (image, error) {
	in := dp.inst
	rctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout.D())
	defer cancel()
	regs, gen, err := d.conn.read(rctx, dp.unit, d.m, in.Addr, min(2+in.Len, maxRead))
	if err != nil {
		d.stale = true
		return nil, fmt.Errorf("%s/%s: %w", dp.Device, dp.Name, err)
	}
	if gen != d.gen {
		d.stale = true // reconnected: the next poll rediscovers; the model id is checked here
	}
	if regs[0] != in.ID {
		d.stale = true
		return nil, fmt.Errorf("%s/%s: %w: address %d holds model %d, was %d", dp.Device, dp.Name, errLayout, in.Addr, regs[0], in.ID)
	}
	im := image{}
	im.put(in.Addr, regs)
	return im, nil
}

func mustGet(im image, addr, n uint16) []uint16 {
	regs, _ := im.get(addr, min(n, maxRead))
	return regs
}

// find returns the datapoint name of logical device id.
func (d *Device) find(id, name string) *dpoint {
	for _, lg := range d.logical {
		if lg.id == id {
			return lg.byName[name]
		}
	}
	return nil
}
