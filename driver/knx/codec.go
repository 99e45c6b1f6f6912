package knx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// codec decodes and encodes one DPT main type. small types (1.x, 2.x, 3.x)
// live in the low six bits of the APCI byte; the others are size bytes
// after it.
type codec struct {
	small  bool
	size   int
	format model.Format
	decode func(sub int, b []byte) (any, error)
	encode func(sub int, v any) ([]byte, error)
	limits func(sub int) (lo, hi float64)
}

// codecs holds every supported main type.
var codecs = map[int]*codec{
	1:  {small: true, format: model.Bool, decode: decodeBool, encode: encodeBool, limits: fixed(0, 1)},
	2:  {small: true, format: model.DiscreteNumeric, decode: decodeBits(0x03), encode: encodeBits(3), limits: fixed(0, 3)},
	3:  {small: true, format: model.DiscreteNumeric, decode: decodeStep, encode: encodeStep, limits: fixed(-7, 7)},
	5:  {size: 1, format: model.ContinuousNumeric, decode: decodeU8, encode: encodeU8, limits: limitsU8},
	6:  {size: 1, format: model.ContinuousNumeric, decode: decodeInt(1, true), encode: encodeInt(1, true), limits: fixed(-128, 127)},
	7:  {size: 2, format: model.ContinuousNumeric, decode: decodeInt(2, false), encode: encodeInt(2, false), limits: fixed(0, 65535)},
	8:  {size: 2, format: model.ContinuousNumeric, decode: decodeInt(2, true), encode: encodeInt(2, true), limits: fixed(-32768, 32767)},
	9:  {size: 2, format: model.ContinuousNumeric, decode: decodeF16, encode: encodeF16, limits: fixed(-671088.64, 670433.28)},
	12: {size: 4, format: model.ContinuousNumeric, decode: decodeInt(4, false), encode: encodeInt(4, false), limits: fixed(0, math.MaxUint32)},
	13: {size: 4, format: model.ContinuousNumeric, decode: decodeInt(4, true), encode: encodeInt(4, true), limits: fixed(math.MinInt32, math.MaxInt32)},
	14: {size: 4, format: model.ContinuousNumeric, decode: decodeF32, encode: encodeF32, limits: fixed(-math.MaxFloat32, math.MaxFloat32)},
	16: {size: 14, format: model.GenericText, decode: decodeString, encode: encodeString, limits: fixed(0, 0)},
	17: {size: 1, format: model.DiscreteNumeric, decode: decodeBitsFull(0x3f), encode: encodeInt(1, false), limits: fixed(0, 63)},
	20: {size: 1, format: model.DiscreteNumeric, decode: decodeInt(1, false), encode: encodeInt(1, false), limits: fixed(0, 255)},
}

func fixed(lo, hi float64) func(int) (float64, float64) {
	return func(int) (float64, float64) { return lo, hi }
}

func decodeBool(_ int, b []byte) (any, error) { return b[0]&1 == 1, nil }

func encodeBool(_ int, v any) ([]byte, error) {
	switch x := v.(type) {
	case bool:
		if x {
			return []byte{1}, nil
		}
		return []byte{0}, nil
	}
	f, err := integer(v, 0, 1)
	return []byte{byte(f)}, err
}

func decodeBits(mask byte) func(int, []byte) (any, error) {
	return func(_ int, b []byte) (any, error) { return float64(b[0] & mask), nil }
}

// decodeBitsFull is decodeBits for a one-byte type whose other bits must be 0.
func decodeBitsFull(mask byte) func(int, []byte) (any, error) {
	return func(_ int, b []byte) (any, error) {
		if b[0]&^mask != 0 {
			return nil, fmt.Errorf("reserved bits set in %#02x", b[0])
		}
		return float64(b[0]), nil
	}
}

func encodeBits(max float64) func(int, any) ([]byte, error) {
	return func(_ int, v any) ([]byte, error) {
		f, err := integer(v, 0, max)
		return []byte{byte(f)}, err
	}
}

// decodeStep reads a 3.x control: bit 3 says up (1) or down (0), bits 0–2
// the step code (0 = stop). The value is ±step code, 0 for stop.
func decodeStep(_ int, b []byte) (any, error) {
	step := float64(b[0] & 0x07)
	if b[0]&0x08 == 0 {
		step = -step
	}
	return step + 0, nil // + 0 turns -0 into 0
}

func encodeStep(_ int, v any) ([]byte, error) {
	f, err := integer(v, -7, 7)
	if err != nil {
		return nil, err
	}
	if f > 0 {
		return []byte{0x08 | byte(f)}, nil
	}
	return []byte{byte(-f)}, nil
}

// u8scale is the full-scale value of the scaled 8-bit subtypes.
func u8scale(sub int) float64 {
	switch sub {
	case 1:
		return 100 // 5.001 percent
	case 3:
		return 360 // 5.003 angle
	}
	return 255
}

func limitsU8(sub int) (float64, float64) { return 0, u8scale(sub) }

func decodeU8(sub int, b []byte) (any, error) {
	s := u8scale(sub)
	if s == 255 {
		return float64(b[0]), nil
	}
	return float64(b[0]) * s / 255, nil
}

func encodeU8(sub int, v any) ([]byte, error) {
	s := u8scale(sub)
	if s == 255 {
		f, err := integer(v, 0, 255)
		return []byte{byte(f)}, err
	}
	f, err := number(v, 0, s)
	return []byte{byte(math.Round(f * 255 / s))}, err
}

func decodeInt(size int, signed bool) func(int, []byte) (any, error) {
	return func(_ int, b []byte) (any, error) {
		var u uint64
		for _, x := range b[:size] {
			u = u<<8 | uint64(x)
		}
		if signed && u&(1<<(8*size-1)) != 0 {
			return float64(int64(u) - 1<<(8*size)), nil
		}
		return float64(u), nil
	}
}

func encodeInt(size int, signed bool) func(int, any) ([]byte, error) {
	bits := 8 * size
	lo, hi := 0.0, math.Exp2(float64(bits))-1
	if signed {
		lo, hi = -math.Exp2(float64(bits-1)), math.Exp2(float64(bits-1))-1
	}
	return func(_ int, v any) ([]byte, error) {
		f, err := integer(v, lo, hi)
		if err != nil {
			return nil, err
		}
		u := uint64(int64(f))
		out := make([]byte, size)
		for i := size - 1; i >= 0; i-- {
			out[i] = byte(u)
			u >>= 8
		}
		return out, nil
	}
}

// decodeF16 reads the KNX 2-byte float: value = 0.01 × M × 2^E with a
// 12-bit two's complement mantissa M (sign in bit 15, the rest in bits
// 0–10) and a 4-bit exponent E in bits 11–14. 0x7FFF means invalid.
func decodeF16(_ int, b []byte) (any, error) {
	u := binary.BigEndian.Uint16(b)
	if u == 0x7fff {
		return nil, nil
	}
	m := int(u & 0x07ff)
	if u&0x8000 != 0 {
		m -= 2048
	}
	e := int(u>>11) & 0x0f
	return math.Round(float64(m)*math.Exp2(float64(e))) / 100, nil
}

func encodeF16(_ int, v any) ([]byte, error) {
	f, err := number(v, -671088.64, 670433.28) // 670760.96 would be 0x7fff, "invalid"
	if err != nil {
		return nil, err
	}
	m, e := math.Round(f*100), 0
	for (m < -2048 || m > 2047) && e < 15 {
		e++
		m = math.Round(f * 100 / math.Exp2(float64(e)))
	}
	mi := int(m)
	u := uint16(e)<<11 | uint16(mi&0x07ff)
	if mi < 0 {
		u |= 0x8000
	}
	return []byte{byte(u >> 8), byte(u)}, nil
}

func decodeF32(_ int, b []byte) (any, error) {
	f := math.Float32frombits(binary.BigEndian.Uint32(b))
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return nil, fmt.Errorf("%v is not a finite number", f)
	}
	return float64(f), nil
}

func encodeF32(_ int, v any) ([]byte, error) {
	f, err := number(v, -math.MaxFloat32, math.MaxFloat32)
	return binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(f))), err
}

// decodeString reads a 16.x string: 14 bytes, padded with NUL; 16.000 is
// ASCII, 16.001 ISO 8859-1.
func decodeString(sub int, b []byte) (any, error) {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		if sub == 0 && c > 0x7f {
			return nil, fmt.Errorf("byte %#02x is not ASCII (16.000)", c)
		}
		sb.WriteRune(rune(c)) // ISO 8859-1 is the first 256 code points
	}
	return sb.String(), nil
}

func encodeString(sub int, v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("want a string, got %T", v)
	}
	out := make([]byte, 0, 14)
	for _, r := range s {
		switch {
		case sub == 0 && r > 0x7f:
			return nil, fmt.Errorf("%q is not ASCII (16.000)", r)
		case r > 0xff:
			return nil, fmt.Errorf("%q is not in ISO 8859-1 (16.001)", r)
		case len(out) == 14:
			return nil, errors.New("longer than 14 characters")
		}
		out = append(out, byte(r))
	}
	return append(out, make([]byte, 14-len(out))...), nil
}

// number returns v as a float64 within lo..hi.
func number(v any, lo, hi float64) (float64, error) {
	f, ok := model.AsFloat(v)
	switch {
	case !ok:
		return 0, fmt.Errorf("want a number, got %T", v)
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fmt.Errorf("want a finite number, got %v", f)
	case f < lo || f > hi:
		return 0, fmt.Errorf("%v is out of %v..%v", f, lo, hi)
	}
	return f, nil
}

// integer is number for types that hold whole numbers.
func integer(v any, lo, hi float64) (float64, error) {
	f, err := number(v, lo, hi)
	if err == nil && f != math.Trunc(f) {
		err = fmt.Errorf("want a whole number, got %v", f)
	}
	return f, err
}
