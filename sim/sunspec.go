package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/gridbox/gridbox/driver/sunspec"
	"github.com/simonvetter/modbus"
)

// ssModel is one model of a simulated SunSpec chain: raw point values by
// SunSpec name ("module2.DCW" for a repeated block), already scaled as
// the device would store them; every other point holds its
// not-implemented sentinel.
type ssModel struct {
	id      uint16
	length  uint16 // 0: the model's own length (plus the repeated blocks)
	repeats int
	vals    map[string]any // int, float64 (float32 points) or string
}

// ssDevice is a simulated SunSpec device: a register image with the
// marker at base, and the writable (RW) points.
type ssDevice struct {
	regs  image
	rw    map[uint16]bool
	addrs map[string]uint16 // "<model id>.<point>" → address of the first model with that id
	// unknown lists value names that are no point of their model (a typo
	// in a chain definition; the simulator tests check it is empty).
	unknown []string
}

// newSunSpec lays out a chain of models from base.
func newSunSpec(base uint16, models []ssModel) *ssDevice {
	d := &ssDevice{regs: image{}, rw: map[uint16]bool{}, addrs: map[string]uint16{}}
	d.regs[base], d.regs[base+1] = 0x5375, 0x6E53
	pos := base + 2
	for _, m := range models {
		def := sunspec.Lookup(m.id)
		length := m.length
		if length == 0 {
			length = def.Len
			if def.Repeat != nil {
				length += uint16(m.repeats) * def.Repeat.Size
			}
		}
		d.regs[pos], d.regs[pos+1] = m.id, length
		d.checkNames(m, def)
		for _, p := range def.Points {
			if p.Offset+p.Size <= length+2 {
				d.point(m, pos+p.Offset, p.Name, p)
			}
		}
		for k := range m.repeats {
			start := pos + 2 + def.Len + uint16(k)*def.Repeat.Size
			for _, p := range def.Repeat.Points {
				d.point(m, start+p.Offset, fmt.Sprintf("module%d.%s", k+1, p.Name), p)
			}
		}
		pos += 2 + length
	}
	d.regs[pos], d.regs[pos+1] = 0xFFFF, 0
	return d
}

// point writes one point's value (or sentinel) at addr.
func (d *ssDevice) point(m ssModel, addr uint16, name string, p sunspec.Point) {
	key := fmt.Sprintf("%d.%s", m.id, name)
	if _, ok := d.addrs[key]; !ok {
		d.addrs[key] = addr
	}
	regs := sentinel(p.Type, p.Size)
	if v, ok := m.vals[name]; ok {
		regs = encode(p.Type, p.Size, v)
	}
	for i, r := range regs {
		d.regs[addr+uint16(i)] = r
		if p.Access == sunspec.RW {
			d.rw[addr+uint16(i)] = true
		}
	}
}

// checkNames notes the value names of m that are no point of def.
func (d *ssDevice) checkNames(m ssModel, def *sunspec.Model) {
	known := map[string]bool{}
	for _, p := range def.Points {
		known[p.Name] = true
	}
	for k := range m.repeats {
		for _, p := range def.Repeat.Points {
			known[fmt.Sprintf("module%d.%s", k+1, p.Name)] = true
		}
	}
	for n := range m.vals {
		if !known[n] {
			d.unknown = append(d.unknown, fmt.Sprintf("%d.%s", m.id, n))
		}
	}
}

// sentinel is a point's "not implemented" value.
func sentinel(t sunspec.Type, size uint16) []uint16 {
	out := make([]uint16, size)
	switch t {
	case sunspec.Int16, sunspec.SunSSF, sunspec.Int32, sunspec.Int64:
		out[0] = 0x8000
	case sunspec.Uint16, sunspec.Enum16, sunspec.Bitfield16, sunspec.Uint32, sunspec.Enum32, sunspec.Bitfield32, sunspec.Uint64:
		for i := range out {
			out[i] = 0xFFFF
		}
	case sunspec.Float32:
		out[0], out[1] = 0x7FC0, 0
	}
	return out
}

// encode stores v as a point of type t.
func encode(t sunspec.Type, size uint16, v any) []uint16 {
	out := make([]uint16, size)
	switch x := v.(type) {
	case string:
		b := []byte(x)
		for i := range out {
			var hi, lo byte
			if 2*i < len(b) {
				hi = b[2*i]
			}
			if 2*i+1 < len(b) {
				lo = b[2*i+1]
			}
			out[i] = uint16(hi)<<8 | uint16(lo)
		}
	case float64:
		u := math.Float32bits(float32(x))
		out[0], out[1] = uint16(u>>16), uint16(u)
	case int:
		u := uint64(int64(x))
		for i := range out {
			out[len(out)-1-i] = uint16(u >> (16 * i))
		}
	}
	return out
}

// read implements device: both tables are the same image.
func (d *ssDevice) read(_ table, addr, qty uint16) ([]uint16, error) { return d.regs.read(addr, qty) }

// write implements device: only the registers of writable points take a
// write, all or nothing.
func (d *ssDevice) write(addr uint16, vals []uint16) error {
	for i := range vals {
		if !d.rw[addr+uint16(i)] {
			return modbus.ErrIllegalDataAddress
		}
	}
	for i, v := range vals {
		d.regs[addr+uint16(i)] = v
	}
	return nil
}

// step implements device: the register values are constant.
func (d *ssDevice) step(time.Duration) {}
