package modbus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/model"
	"github.com/x448/float16"
)

// errNotNumber etc. are returned by encode for values of the wrong shape.
var (
	errNotNumber = errors.New("want a number")
	errNotBool   = errors.New("want a bool")
	errNotString = errors.New("want a string")
)

// toBytes orders the field's registers into big-endian value bytes (ABCD).
func (f *field) toBytes(regs []uint16) []byte {
	b := make([]byte, 2*len(regs))
	for i, r := range regs {
		j := i
		if f.wordSwap {
			j = len(regs) - 1 - i
		}
		if f.byteSwap {
			r = r<<8 | r>>8
		}
		binary.BigEndian.PutUint16(b[2*j:], r)
	}
	return b
}

// fromBytes is the inverse of toBytes: value bytes → wire registers.
func (f *field) fromBytes(b []byte) []uint16 {
	regs := make([]uint16, len(b)/2)
	for i := range regs {
		j := i
		if f.wordSwap {
			j = len(regs) - 1 - i
		}
		r := binary.BigEndian.Uint16(b[2*j:])
		if f.byteSwap {
			r = r<<8 | r>>8
		}
		regs[i] = r
	}
	return regs
}

// rawUint returns the value bytes as an unsigned integer of the type's width.
func (f *field) rawUint(regs []uint16) uint64 {
	b := f.toBytes(regs)
	var u uint64
	for _, c := range b {
		u = u<<8 | uint64(c)
	}
	return u
}

// uintRegs is the inverse of rawUint.
func (f *field) uintRegs(u uint64) []uint16 {
	b := make([]byte, 2*f.n)
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte(u)
		u >>= 8
	}
	return f.fromBytes(b)
}

// decode turns the field's registers into a value: float64, string, bool
// or nil (not available). Errors mean quality bad.
func (f *field) decode(regs []uint16) (any, error) {
	if len(regs) != int(f.n) {
		return nil, fmt.Errorf("got %d registers, want %d", len(regs), f.n)
	}
	if f.typ.kind == kString {
		return decodeString(f.toBytes(regs)), nil
	}
	u := f.rawUint(regs)
	if f.reg.bitRev {
		u = uint64(bits.Reverse16(uint16(u)))
	}
	if f.mask != 0 {
		u = (u & f.mask) >> f.shift
	}
	if v, ok := f.lookup(u); ok {
		return v, nil
	}
	var x float64
	switch {
	case f.typ.kind == kBool:
		return f.shape(u != 0), nil
	case f.mask != 0 || f.typ.kind == kUnsigned:
		x = float64(u)
	case f.typ.kind == kSigned:
		x = float64(signExtend(u, f.typ.width))
	default:
		x = floatOf(u, f.typ.width)
		if math.IsNaN(x) {
			return nil, nil
		}
		if math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s is infinite (raw 0x%0*x)", f.typ.name, f.typ.width/4, u)
		}
		switch f.typ.width {
		case 16:
			x = shortest16(x) // 22.4, not 22.40625
		case 32:
			x = roundTo(x, 'g', -1, 32) // 230.24138, not 230.2413787841797
		}
	}
	if f.scale != 1 || f.offset != 0 {
		x = roundTo(x*f.scale+f.offset, 'g', 15, 64) // 0.3, not 0.30000000000000004
		if x == 0 {
			x = 0 // not -0 (a negative scale of 0)
		}
	}
	return f.shape(f.castValue(x)), nil
}

// roundTo returns x rounded to its decimal form with the given precision
// and bit size, so values carry no binary noise into JSON.
func roundTo(x float64, fmtc byte, prec, bitSize int) float64 {
	y, err := strconv.ParseFloat(strconv.FormatFloat(x, fmtc, prec, bitSize), 64)
	if err != nil {
		return x
	}
	return y
}

// shortest16 returns the decimal with the fewest digits that encodes to the
// same float16 as x: devices that round to 0.1 before encoding read back as such.
func shortest16(x float64) float64 {
	want := float16.Fromfloat32(float32(x))
	for prec := 1; prec <= 5; prec++ {
		if y := roundTo(x, 'g', prec, 64); float16.Fromfloat32(float32(y)) == want {
			return y
		}
	}
	return x
}

// decodeBit turns a coil or discrete input into a value.
func (f *field) decodeBit(b bool) any { return f.shape(b) }

// shape converts a decoded value to the datapoint's format (bool ↔ 0/1).
func (f *field) shape(v any) any {
	switch x := v.(type) {
	case bool:
		if f.format.Numeric() {
			if x {
				return 1.0
			}
			return 0.0
		}
	case float64:
		if f.format == model.Bool {
			return x != 0
		}
	}
	return v
}

// lookup applies the register's map to a raw value.
func (f *field) lookup(u uint64) (any, bool) {
	if len(f.maps) == 0 {
		return nil, false
	}
	var x float64
	if f.typ.kind == kFloat && f.mask == 0 {
		x = floatOf(u, f.typ.width)
	}
	for _, m := range f.maps {
		if m.hex || f.typ.kind != kFloat || f.mask != 0 {
			if m.bits == u {
				return m.val, true
			}
		} else if m.num == x {
			return m.val, true
		}
	}
	return nil, false
}

func signExtend(u uint64, width int) int64 {
	s := 64 - width
	return int64(u<<s) >> s
}

func floatOf(u uint64, width int) float64 {
	switch width {
	case 16:
		return float64(float16.Frombits(uint16(u)).Float32())
	case 32:
		return float64(math.Float32frombits(uint32(u)))
	}
	return math.Float64frombits(u)
}

// decodeString reads ASCII up to the first NUL and trims trailing spaces.
func decodeString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.ToValidUTF8(strings.TrimRight(string(b), " "), "\uFFFD")
}

// encode turns a value into the field's registers. cur holds the field's
// current registers when the field is a bit field (mask): the other bits
// are kept.
func (f *field) encode(v any, cur []uint16) ([]uint16, error) {
	if f.typ.kind == kString {
		s, ok := v.(string)
		if !ok {
			return nil, errNotString
		}
		return f.encodeString(s)
	}
	u, err := f.encodeRaw(v)
	if err != nil {
		return nil, err
	}
	if f.mask != 0 {
		if len(cur) != int(f.n) {
			return nil, fmt.Errorf("bit field write needs the current register")
		}
		c := f.rawUint(cur)
		if f.reg.bitRev {
			c = uint64(bits.Reverse16(uint16(c)))
		}
		u = (c &^ f.mask) | (u<<f.shift)&f.mask
		if f.reg.bitRev {
			u = uint64(bits.Reverse16(uint16(u)))
		}
	}
	return f.uintRegs(u), nil
}

// encodeBit turns a value into a coil state.
func (f *field) encodeBit(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	default:
		if n, ok := model.AsFloat(x); ok && (n == 0 || n == 1) {
			return n == 1, nil
		}
	}
	return false, errNotBool
}

// encodeRaw returns the raw (unshifted) value for v.
func (f *field) encodeRaw(v any) (uint64, error) {
	if u, ok := f.reverse(v); ok {
		return u, nil
	}
	if b, ok := v.(bool); ok {
		if f.typ.kind != kBool && f.format != model.Bool {
			return 0, errNotNumber
		}
		if b {
			return 1, nil
		}
		return 0, nil
	}
	x, ok := model.AsFloat(v)
	if !ok {
		return 0, errNotNumber
	}
	raw := (x - f.offset) / f.scale
	if math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 0, fmt.Errorf("%v is not a finite number", x)
	}
	switch {
	case f.typ.kind == kBool:
		if raw != 0 && raw != 1 {
			return 0, fmt.Errorf("%v is not 0 or 1", x)
		}
		return uint64(raw), nil
	case f.mask != 0:
		return encodeInt(x, raw, 0, float64(f.mask>>f.shift))
	case f.typ.kind == kFloat:
		return encodeFloat(x, raw, f.typ.width)
	case f.typ.kind == kSigned:
		lim := math.Ldexp(1, f.typ.width-1)
		u, err := encodeInt(x, raw, -lim, lim-1)
		return u & widthMask(f.typ.width), err
	}
	return encodeInt(x, raw, 0, math.Ldexp(1, f.typ.width)-1)
}

// reverse finds a map entry whose value is v and returns its raw key.
func (f *field) reverse(v any) (uint64, bool) {
	for _, m := range f.maps {
		if m.val == nil || m.val != v {
			continue
		}
		if m.hex || f.typ.kind != kFloat {
			return m.bits, true
		}
		return float64Bits(m.num, f.typ.width), true
	}
	return 0, false
}

func encodeInt(x, raw, lo, hi float64) (uint64, error) {
	r := math.Round(raw)
	if r < lo || r > hi {
		return 0, fmt.Errorf("%v is out of range (raw %v not in %v..%v)", x, r, lo, hi)
	}
	if r < 0 {
		return uint64(int64(r)), nil
	}
	return uint64(r), nil
}

func encodeFloat(x, raw float64, width int) (uint64, error) {
	lim := math.MaxFloat64
	switch width {
	case 16:
		lim = 65504
	case 32:
		lim = math.MaxFloat32
	}
	if math.Abs(raw) > lim {
		return 0, fmt.Errorf("%v is out of range for float%d", x, width)
	}
	return float64Bits(raw, width), nil
}

func float64Bits(x float64, width int) uint64 {
	switch width {
	case 16:
		return uint64(float16.Fromfloat32(float32(x)).Bits())
	case 32:
		return uint64(math.Float32bits(float32(x)))
	}
	return math.Float64bits(x)
}

func (f *field) encodeString(s string) ([]uint16, error) {
	if len(s) > 2*int(f.n) {
		return nil, fmt.Errorf("string of %d bytes does not fit %d registers", len(s), f.n)
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == 0 {
			return nil, fmt.Errorf("string has a non-ASCII or NUL byte at %d", i)
		}
	}
	b := make([]byte, 2*f.n)
	copy(b, s)
	return f.fromBytes(b), nil
}
