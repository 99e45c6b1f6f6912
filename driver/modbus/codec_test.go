package modbus

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/model"
)

func u8(v uint8) *uint8 { return &v }

func mustField(t *testing.T, r Register) *field {
	t.Helper()
	if r.Name == "" {
		r.Name = "x"
	}
	f, errs := compileRegister(r)
	if len(errs) > 0 {
		t.Fatalf("compile %+v: %v", r, errs)
	}
	return f
}

func sameValue(a, b any) bool {
	x, ok1 := a.(float64)
	y, ok2 := b.(float64)
	if ok1 && ok2 {
		return x == y || math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y))
	}
	return a == b
}

type codecCase struct {
	name      string
	reg       Register
	regs      []uint16
	want      any
	oneWay    bool // decode only (lossy or not-available)
	writeCurr []uint16
	exact     bool // the decoded float64 must equal want exactly
}

func codecCases() []codecCase {
	return []codecCase{
		{name: "int16 negative", reg: Register{Type: "int16"}, regs: []uint16{0xFFFE}, want: -2.0},
		{name: "uint16", reg: Register{Type: "uint16"}, regs: []uint16{0xFFFE}, want: 65534.0},
		{name: "int16 BA", reg: Register{Type: "int16", Order: "BA"}, regs: []uint16{0xFEFF}, want: -2.0},
		{name: "uint16 DCBA swaps bytes", reg: Register{Type: "uint16", Order: "DCBA"}, regs: []uint16{0x3412}, want: 4660.0},
		{name: "int32 ABCD sma ac power", reg: Register{Type: "int32"}, regs: []uint16{0, 12345}, want: 12345.0},
		{name: "int32 negative", reg: Register{Type: "int32"}, regs: []uint16{0xFFFF, 0xFF38}, want: -200.0},
		{name: "int32 CDAB", reg: Register{Type: "int32", Order: "CDAB"}, regs: []uint16{12345, 0}, want: 12345.0},
		{name: "uint32 serial", reg: Register{Type: "uint32"}, regs: []uint16{18838, 722}, want: 1234567890.0},
		{name: "uint32 yield", reg: Register{Type: "uint32"}, regs: []uint16{123, 45678}, want: 8106606.0},
		{name: "uint32 DCBA", reg: Register{Type: "uint32", Order: "DCBA"}, regs: []uint16{0x4433, 0x2211}, want: float64(0x11223344)},
		{name: "uint32 BADC", reg: Register{Type: "uint32", Order: "BADC"}, regs: []uint16{0x2211, 0x4433}, want: float64(0x11223344)},
		{name: "uint32 CDAB", reg: Register{Type: "uint32", Order: "CDAB"}, regs: []uint16{0x3344, 0x1122}, want: float64(0x11223344)},
		{name: "int64 negative", reg: Register{Type: "int64"}, regs: []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE}, want: -2.0},
		{name: "uint64", reg: Register{Type: "uint64"}, regs: []uint16{0, 0x0100, 0, 0}, want: math.Ldexp(1, 40)},
		{name: "uint64 CDAB", reg: Register{Type: "uint64", Order: "CDAB"}, regs: []uint16{0, 0, 0x0100, 0}, want: math.Ldexp(1, 40)},
		{name: "float16 demo room BA", reg: Register{Type: "float16", Order: "BA"}, regs: []uint16{0x404D}, want: 21.0},
		{name: "float16 AB", reg: Register{Type: "float16"}, regs: []uint16{0x4D40}, want: 21.0},
		{name: "float16 shortest decimal", reg: Register{Type: "float16"}, regs: []uint16{0x4D9A}, want: 22.4, oneWay: true}, // 0x4D9A is 22.40625
		{name: "float16 negative", reg: Register{Type: "float16"}, regs: []uint16{0xC100}, want: -2.5},
		{name: "float16 NaN is null", reg: Register{Type: "float16"}, regs: []uint16{0x7E00}, want: nil, oneWay: true},
		{name: "float32 ABCD", reg: Register{Type: "float32"}, regs: []uint16{0x4366, 0x8000}, want: 230.5},
		{name: "float32 CDAB", reg: Register{Type: "float32", Order: "CDAB"}, regs: []uint16{0x8000, 0x4366}, want: 230.5},
		{name: "float32 DCBA", reg: Register{Type: "float32", Order: "DCBA"}, regs: []uint16{0x0080, 0x6643}, want: 230.5},
		{name: "float32 BADC", reg: Register{Type: "float32", Order: "BADC"}, regs: []uint16{0x6643, 0x0080}, want: 230.5},
		{name: "float32 shortest decimal", reg: Register{Type: "float32"}, regs: []uint16{0x4366, 0x3DCB}, want: 230.24138, exact: true},
		{name: "scale without binary noise", reg: Register{Type: "uint16", Scale: 0.1}, regs: []uint16{3}, want: 0.3, exact: true},
		{name: "float32 NaN is null", reg: Register{Type: "float32"}, regs: []uint16{0x7FC0, 0}, want: nil, oneWay: true},
		{name: "float64", reg: Register{Type: "float64"}, regs: []uint16{0xBFF4, 0, 0, 0}, want: -1.25},
		{name: "float64 DCBA", reg: Register{Type: "float64", Order: "DCBA"}, regs: []uint16{0, 0, 0, 0xF4BF}, want: -1.25},
		{name: "string", reg: Register{Type: "string", Length: 3}, regs: []uint16{0x534E, 0x3132, 0}, want: "SN12"},
		{name: "string BADC", reg: Register{Type: "string", Length: 2, Order: "BADC"}, regs: []uint16{0x4E53, 0x3231}, want: "SN12"},
		{name: "string trailing spaces", reg: Register{Type: "string", Length: 2}, regs: []uint16{0x4142, 0x2020}, want: "AB", oneWay: true},
		{name: "string garbage after NUL", reg: Register{Type: "string", Length: 2}, regs: []uint16{0x4100, 0x4243}, want: "A", oneWay: true},
		{name: "bool bit set", reg: Register{Type: "bool", Bit: u8(3)}, regs: []uint16{0x0009}, want: true, writeCurr: []uint16{0x0001}},
		{name: "bool bit clear", reg: Register{Type: "bool", Bit: u8(3)}, regs: []uint16{0x0007}, want: false, writeCurr: []uint16{0x000F}},
		{name: "bool register nonzero", reg: Register{Type: "bool"}, regs: []uint16{1}, want: true},
		{name: "uint16 bit numeric", reg: Register{Type: "uint16", Bit: u8(15)}, regs: []uint16{0x8000}, want: 1.0, writeCurr: []uint16{0}},
		{name: "bit field mask shift", reg: Register{Type: "uint16", Mask: 0x0F00, Shift: 8}, regs: []uint16{0x035F}, want: 3.0, writeCurr: []uint16{0x0A5F}},
		{name: "scale 0.01", reg: Register{Type: "uint32", Scale: 0.01}, regs: []uint16{0, 23050}, want: 230.5},
		{name: "scale and offset", reg: Register{Type: "int16", Scale: 0.1, Offset: -40}, regs: []uint16{650}, want: 25.0},
		{name: "negative scaled", reg: Register{Type: "int32", Scale: 0.1}, regs: []uint16{0xFFFF, 0xFFF6}, want: -1.0},
		{name: "map int32 sentinel to null", reg: Register{Type: "int32", Map: map[string]any{"0x80000000": nil}}, regs: []uint16{0x8000, 0}, want: nil, oneWay: true},
		{name: "map uint32 sentinel to null", reg: Register{Type: "uint32", Map: map[string]any{"0xFFFFFFFF": nil}}, regs: []uint16{0xFFFF, 0xFFFF}, want: nil, oneWay: true},
		{name: "map not hit scales", reg: Register{Type: "uint32", Scale: 0.01, Map: map[string]any{"0xFFFFFFFF": nil}}, regs: []uint16{0, 5000}, want: 50.0},
		{name: "map negative decimal key", reg: Register{Type: "int16", Map: map[string]any{"-1": nil}}, regs: []uint16{0xFFFF}, want: nil, oneWay: true},
		{name: "map status text", reg: Register{Type: "uint32", Map: map[string]any{"307": "ok", "35": "fault"}}, regs: []uint16{0, 307}, want: "ok"},
		{name: "map float key", reg: Register{Type: "float32", Map: map[string]any{"-1": nil}}, regs: []uint16{0xBF80, 0}, want: nil, oneWay: true},
		{name: "map number value", reg: Register{Type: "uint16", Map: map[string]any{"0x10": 99}}, regs: []uint16{0x10}, want: 99.0},
	}
}

func TestDecode(t *testing.T) {
	for _, tc := range codecCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := mustField(t, tc.reg)
			got, err := f.decode(tc.regs)
			if err != nil {
				t.Fatalf("decode %04x: %v", tc.regs, err)
			}
			if !sameValue(got, tc.want) || (tc.exact && got != tc.want) {
				t.Fatalf("decode %04x = %#v, want %#v", tc.regs, got, tc.want)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, tc := range codecCases() {
		if tc.oneWay {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			f := mustField(t, tc.reg)
			regs, err := f.encode(tc.want, tc.writeCurr)
			if err != nil {
				t.Fatalf("encode %v: %v", tc.want, err)
			}
			if !slices.Equal(regs, tc.regs) {
				t.Fatalf("encode %v = %04x, want %04x", tc.want, regs, tc.regs)
			}
			back, err := f.decode(regs)
			if err != nil || !sameValue(back, tc.want) {
				t.Fatalf("round trip %v → %04x → %v (%v)", tc.want, regs, back, err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		reg  Register
		regs []uint16
		want string
	}{
		{"float32 infinity", Register{Type: "float32"}, []uint16{0x7F80, 0}, "infinite"},
		{"float16 infinity", Register{Type: "float16"}, []uint16{0x7C00}, "infinite"},
		{"short response", Register{Type: "uint32"}, []uint16{1}, "got 1 registers, want 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mustField(t, tc.reg).decode(tc.regs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	cases := []struct {
		name    string
		reg     Register
		v       any
		want    []uint16
		wantErr string
	}{
		{name: "scale rounds", reg: Register{Type: "uint16", Scale: 0.1}, v: 22.46, want: []uint16{225}},
		{name: "offset inverted", reg: Register{Type: "int16", Scale: 0.1, Offset: -40}, v: -45.0, want: []uint16{0xFFCE}},
		{name: "int16 above range", reg: Register{Type: "int16"}, v: 40000.0, wantErr: "out of range"},
		{name: "uint16 negative", reg: Register{Type: "uint16"}, v: -1.0, wantErr: "out of range"},
		{name: "scaled above range", reg: Register{Type: "uint16", Scale: 0.1}, v: 6553.6, wantErr: "out of range"},
		{name: "uint32 max", reg: Register{Type: "uint32"}, v: 4294967295.0, want: []uint16{0xFFFF, 0xFFFF}},
		{name: "uint32 above", reg: Register{Type: "uint32"}, v: 4294967296.0, wantErr: "out of range"},
		{name: "int64 min", reg: Register{Type: "int64"}, v: -9223372036854775808.0, want: []uint16{0x8000, 0, 0, 0}},
		{name: "float16 too big", reg: Register{Type: "float16"}, v: 70000.0, wantErr: "out of range"},
		{name: "float16 rounds to nearest", reg: Register{Type: "float16", Order: "BA"}, v: 24.0, want: []uint16{0x004E}},
		{name: "bit field too wide", reg: Register{Type: "uint16", Mask: 0x0F00, Shift: 8}, v: 16.0, wantErr: "out of range"},
		{name: "string too long", reg: Register{Type: "string", Length: 1}, v: "abc", wantErr: "does not fit"},
		{name: "string non ascii", reg: Register{Type: "string", Length: 2}, v: "é", wantErr: "non-ASCII"},
		{name: "string for number", reg: Register{Type: "uint16"}, v: "x", wantErr: "want a number"},
		{name: "number for string", reg: Register{Type: "string", Length: 2}, v: 1.0, wantErr: "want a string"},
		{name: "bool for number", reg: Register{Type: "uint16"}, v: true, wantErr: "want a number"},
		{name: "NaN", reg: Register{Type: "float32"}, v: math.NaN(), wantErr: "not a finite"},
		{name: "map reverse", reg: Register{Type: "uint16", Map: map[string]any{"0x1": "on", "0x0": "off"}}, v: "on", want: []uint16{1}},
		{name: "map unknown text", reg: Register{Type: "uint16", Map: map[string]any{"1": "on"}}, v: "dim", wantErr: "want a number"},
		{name: "bool to register", reg: Register{Type: "bool"}, v: true, want: []uint16{1}},
		{name: "bool register 2", reg: Register{Type: "bool"}, v: 2.0, wantErr: "not 0 or 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mustField(t, tc.reg).encode(tc.v, make([]uint16, max(1, int(tc.reg.Length))))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("encode %v: err = %v, want %q", tc.v, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("encode %v = %04x (%v), want %04x", tc.v, got, err, tc.want)
			}
		})
	}
}

func TestBits(t *testing.T) {
	f := mustField(t, Register{Table: "coil", Type: "bool"})
	if got := f.decodeBit(true); got != true {
		t.Fatalf("coil decode = %v", got)
	}
	n := mustField(t, Register{Table: "discrete", Meta: model.Meta{Format: "discrete_numeric"}})
	if got := n.decodeBit(true); got != 1.0 {
		t.Fatalf("discrete as number = %v, want 1", got)
	}
	for _, tc := range []struct {
		v    any
		want bool
		ok   bool
	}{{true, true, true}, {false, false, true}, {1.0, true, true}, {0.0, false, true}, {2.0, false, false}, {"on", false, false}} {
		got, err := f.encodeBit(tc.v)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("encodeBit(%v) = %v, %v; want %v ok=%v", tc.v, got, err, tc.want, tc.ok)
		}
	}
}
