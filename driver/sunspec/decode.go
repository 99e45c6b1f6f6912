package sunspec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// decodeRaw returns a point's value from its registers, without its scale
// factor: a float64, a string, or nil when the device reports the point as
// not implemented (the type's sentinel).
func decodeRaw(t Type, regs []uint16) any {
	u32 := func() uint32 { return uint32(regs[0])<<16 | uint32(regs[1]) }
	u64 := func() uint64 { return uint64(u32())<<32 | uint64(regs[2])<<16 | uint64(regs[3]) }
	switch t {
	case Int16, SunSSF:
		if regs[0] == 0x8000 {
			return nil
		}
		return float64(int16(regs[0]))
	case Uint16, Enum16, Bitfield16, Count:
		if regs[0] == 0xFFFF {
			return nil
		}
		return float64(regs[0])
	case Acc16:
		return nonZero(uint64(regs[0]))
	case Int32:
		if u32() == 0x80000000 {
			return nil
		}
		return float64(int32(u32()))
	case Uint32, Enum32, Bitfield32:
		if u32() == 0xFFFFFFFF {
			return nil
		}
		return float64(u32())
	case Acc32:
		return nonZero(uint64(u32()))
	case Int64:
		if u64() == 1<<63 {
			return nil
		}
		return float64(int64(u64()))
	case Uint64:
		if u64() == math.MaxUint64 {
			return nil
		}
		return float64(u64())
	case Acc64:
		return nonZero(u64())
	case Float32:
		f := math.Float32frombits(u32())
		if f != f {
			return nil
		}
		// The shortest decimal that is this float32 (230.1, not 230.10000610351562).
		g, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
		return g
	case Float64:
		f := math.Float64frombits(u64())
		if f != f {
			return nil
		}
		return f
	case String:
		return decodeString(regs)
	}
	return nil
}

func nonZero(v uint64) any {
	if v == 0 {
		return nil
	}
	return float64(v)
}

// decodeString returns the text of a string point (NUL-padded ASCII), nil
// when every register is 0.
func decodeString(regs []uint16) any {
	b := make([]byte, 0, 2*len(regs))
	for _, r := range regs {
		b = append(b, byte(r>>8), byte(r))
	}
	s := strings.TrimRight(string(b), "\x00")
	if s == "" {
		return nil
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(strings.ToValidUTF8(s, "?"))
}

// applySF scales v by 10^sf. A value whose scale factor is not implemented
// is not available either; a scale factor outside -10..10 is an error.
func applySF(v any, sf any) (any, error) {
	f, ok := v.(float64)
	if !ok {
		return v, nil
	}
	s, ok := sf.(float64)
	if !ok {
		return nil, nil
	}
	if s < -10 || s > 10 {
		return nil, fmt.Errorf("scale factor %v is out of -10..10", s)
	}
	return roundSF(f*math.Pow10(int(s)), int(s)), nil
}

// roundSF removes the binary noise of scaling (0.1*3 = 0.30000000000000004).
func roundSF(f float64, sf int) float64 {
	if sf >= 0 {
		return f
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'f', -sf, 64), 64)
	if err != nil {
		return f
	}
	return r
}

// encodeRaw turns a value in engineering units into the registers of a
// writable integer point with scale factor sf (0 without one).
func encodeRaw(t Type, v float64, sf int) ([]uint16, error) {
	raw := math.Round(v / math.Pow10(sf))
	switch t {
	case Int16:
		if raw < math.MinInt16+1 || raw > math.MaxInt16 {
			return nil, fmt.Errorf("%v is out of the int16 range at scale 10^%d", v, sf)
		}
		return []uint16{uint16(int16(raw))}, nil
	case Uint16, Enum16, Bitfield16:
		if raw < 0 || raw > math.MaxUint16-1 {
			return nil, fmt.Errorf("%v is out of the uint16 range at scale 10^%d", v, sf)
		}
		return []uint16{uint16(raw)}, nil
	case Int32:
		if raw < math.MinInt32+1 || raw > math.MaxInt32 {
			return nil, fmt.Errorf("%v is out of the int32 range at scale 10^%d", v, sf)
		}
		u := uint32(int32(raw))
		return []uint16{uint16(u >> 16), uint16(u)}, nil
	case Float32:
		u := math.Float32bits(float32(v))
		return []uint16{uint16(u >> 16), uint16(u)}, nil
	}
	return nil, fmt.Errorf("cannot write a %s point", t)
}
