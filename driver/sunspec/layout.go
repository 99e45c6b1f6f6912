package sunspec

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// markerHi and markerLo are "SunS", the two registers before a SunSpec model chain.
const (
	markerHi = 0x5375
	markerLo = 0x6E53
)

// DefaultBases are the marker addresses tried in order: 40000, 50000 and 0,
// then the off-by-one variants of devices that count registers from 1.
func DefaultBases() []uint16 { return []uint16{40000, 50000, 0, 39999, 40001, 49999, 50001, 1} }

const (
	maxRead   = 125 // registers per Modbus read
	maxModels = 64  // a longer chain is taken for garbage
	endID     = 0xFFFF
)

// instance is one model found in a chain.
type instance struct {
	ID   uint16
	Addr uint16 // address of the model's ID register
	Len  uint16 // the length its header gives
	def  *Model // nil when gridbox does not decode the model
}

// end is the address after the model.
func (in instance) end() int { return int(in.Addr) + 2 + int(in.Len) }

// repeats is how many repeated blocks (model 160 modules) follow the fixed part.
func (in instance) repeats() int {
	if in.def == nil || in.def.Repeat == nil || in.Len < in.def.Len {
		return 0
	}
	return int(in.Len-in.def.Len) / int(in.def.Repeat.Size)
}

// Layout is the discovered model chain of one unit.
type Layout struct {
	Unit   uint8
	Base   uint16 // address of the marker
	End    uint16 // address of the end header (id 0xFFFF)
	Models []instance
}

// String lists the models like "103@40069+50".
func (l *Layout) String() string {
	parts := make([]string, len(l.Models))
	for i, m := range l.Models {
		parts[i] = fmt.Sprintf("%d@%d+%d", m.ID, m.Addr, m.Len)
	}
	return fmt.Sprintf("unit %d SunS@%d [%s]", l.Unit, l.Base, strings.Join(parts, " "))
}

// image holds registers by address.
type image map[uint16]uint16

func (im image) put(addr uint16, regs []uint16) {
	for i, r := range regs {
		im[addr+uint16(i)] = r
	}
}

// get returns n registers from addr, or false when one was not read.
func (im image) get(addr, n uint16) ([]uint16, bool) {
	out := make([]uint16, n)
	for i := range out {
		v, ok := im[addr+uint16(i)]
		if !ok {
			return nil, false
		}
		out[i] = v
	}
	return out, true
}

// reader reads n holding registers from addr of one unit.
type reader func(ctx context.Context, addr, n uint16) ([]uint16, error)

// errNoMarker means no candidate address holds "SunS".
var errNoMarker = errors.New("no SunSpec marker")

// discover finds the marker at the first of bases that holds it and walks
// the chain with reads of up to 125 registers, each starting at a model
// header. It returns the layout and every register it read. Exceptions
// (an address the device does not have) move on; other errors end it.
func discover(ctx context.Context, rd reader, unit uint8, bases []uint16) (*Layout, image, error) {
	im := image{}
	base, err := findMarker(ctx, rd, bases)
	if err != nil {
		return nil, nil, err
	}
	l := &Layout{Unit: unit, Base: base}
	pos := int(base) + 2
	short := false // a long read was refused: read only headers from here
	for len(l.Models) <= maxModels {
		if pos+2 > 0x10000 {
			return nil, nil, fmt.Errorf("chain from %d runs past register 65535", base)
		}
		hdr, ok := im.get(uint16(pos), 2)
		if ok && hdr[0] == 1 && !short {
			_, ok = im.get(uint16(pos), 2+hdr[1]) // a common block is read whole: start the next read at it
		}
		if !ok {
			if hdr, err = readAhead(ctx, rd, im, uint16(pos), &short); err != nil {
				return nil, nil, fmt.Errorf("model header at %d: %w", pos, err)
			}
		}
		if hdr[0] == endID {
			l.End = uint16(pos)
			return l, im, nil
		}
		in := instance{ID: hdr[0], Addr: uint16(pos), Len: hdr[1], def: Lookup(hdr[0])}
		if in.def != nil && in.Len < in.def.Len && in.ID != 1 {
			return nil, nil, fmt.Errorf("model %d at %d: length %d is shorter than the model's %d", in.ID, pos, in.Len, in.def.Len)
		}
		l.Models = append(l.Models, in)
		pos = in.end()
	}
	return nil, nil, fmt.Errorf("chain from %d has more than %d models", base, maxModels)
}

// findMarker returns the first base holding "SunS".
func findMarker(ctx context.Context, rd reader, bases []uint16) (uint16, error) {
	var tried []string
	for _, b := range bases {
		regs, err := rd(ctx, b, 2)
		switch {
		case err != nil && !isException(err):
			return 0, err
		case err == nil && len(regs) == 2 && regs[0] == markerHi && regs[1] == markerLo:
			return b, nil
		case err == nil:
			tried = append(tried, fmt.Sprintf("%d: %04X %04X", b, regs[0], regs[1]))
		default:
			tried = append(tried, fmt.Sprintf("%d: %v", b, err))
		}
	}
	return 0, fmt.Errorf("%w at %s", errNoMarker, strings.Join(tried, "; "))
}

// readAhead reads up to 125 registers from pos into im and returns the two
// at pos. When the long read is refused (it runs past the device's last
// register), the header is read alone, and so are the next ones (short).
func readAhead(ctx context.Context, rd reader, im image, pos uint16, short *bool) ([]uint16, error) {
	n := uint16(min(maxRead, 0x10000-int(pos)))
	if *short {
		n = 2
	}
	regs, err := rd(ctx, pos, n)
	if err != nil && isException(err) && n > 2 {
		*short = true
		regs, err = rd(ctx, pos, 2)
	}
	if err != nil {
		return nil, err
	}
	if len(regs) < 2 {
		return nil, fmt.Errorf("short answer: %d registers", len(regs))
	}
	im.put(pos, regs)
	return regs[:2], nil
}

// window is one read of a poll.
type window struct{ Start, N uint16 }

// plan returns the fewest reads of at most 125 registers that cover every
// decoded model except the common blocks (read at discovery only), headers
// included so that each poll checks the model ids. A read may span models
// nobody needs: the chain is one readable block.
func (l *Layout) plan() []window {
	var need [][2]int
	for _, m := range l.Models {
		if m.def == nil || m.ID == 1 {
			continue
		}
		need = append(need, [2]int{int(m.Addr), m.end()})
	}
	var out []window
	for i := 0; i < len(need); {
		start := need[i][0]
		end := min(start+maxRead, int(l.End))
		last := start
		for i < len(need) && need[i][0] < end {
			last = max(last, min(need[i][1], end))
			if need[i][1] > end {
				need[i][0] = end // the rest of this model starts the next read
				break
			}
			i++
		}
		out = append(out, window{uint16(start), uint16(last - start)})
	}
	return out
}
