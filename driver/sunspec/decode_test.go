package sunspec

import (
	"math"
	"testing"
)

// TestSentinelsAreNull: every type's not-implemented value decodes to nil,
// a neighbouring value does not.
func TestSentinelsAreNull(t *testing.T) {
	nan := math.Float32bits(float32(math.NaN()))
	for _, tc := range []struct {
		t        Type
		sentinel []uint16
		other    []uint16
		want     any
	}{
		{Int16, []uint16{0x8000}, []uint16{0xFFFF}, -1.0},
		{Uint16, []uint16{0xFFFF}, []uint16{0xFFFE}, 65534.0},
		{Enum16, []uint16{0xFFFF}, []uint16{3}, 3.0},
		{Bitfield16, []uint16{0xFFFF}, []uint16{5}, 5.0},
		{Acc16, []uint16{0}, []uint16{7}, 7.0},
		{Int32, []uint16{0x8000, 0}, []uint16{0xFFFF, 0xFFFE}, -2.0},
		{Uint32, []uint16{0xFFFF, 0xFFFF}, []uint16{1, 0}, 65536.0},
		{Bitfield32, []uint16{0xFFFF, 0xFFFF}, []uint16{0, 1}, 1.0},
		{Acc32, []uint16{0, 0}, []uint16{0, 9}, 9.0},
		{Uint64, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, []uint16{0, 0, 1, 0}, 65536.0},
		{Int64, []uint16{0x8000, 0, 0, 0}, []uint16{0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, -1.0},
		{Acc64, []uint16{0, 0, 0, 0}, []uint16{0, 0, 0, 2}, 2.0},
		{Float32, []uint16{uint16(nan >> 16), uint16(nan)}, []uint16{0x4366, 0x199A}, 230.1},
		{SunSSF, []uint16{0x8000}, []uint16{0xFFFE}, -2.0},
		{String, []uint16{0, 0, 0}, []uint16{0x4142, 0x4300, 0}, "ABC"},
	} {
		if v := decodeRaw(tc.t, tc.sentinel); v != nil {
			t.Errorf("%s %04X = %v, want nil", tc.t, tc.sentinel, v)
		}
		if v := decodeRaw(tc.t, tc.other); v != tc.want {
			t.Errorf("%s %04X = %v, want %v", tc.t, tc.other, v, tc.want)
		}
	}
}

func TestScaleFactors(t *testing.T) {
	for _, tc := range []struct {
		v, sf, want any
	}{
		{2301.0, -1.0, 230.1},
		{3.0, -1.0, 0.3},
		{420.0, 1.0, 4200.0},
		{5012.0, -3.0, 5.012},
		{100.0, nil, nil}, // scale factor not implemented: the value is not available
		{nil, -2.0, nil},
		{"text", nil, "text"},
	} {
		if got, err := applySF(tc.v, tc.sf); err != nil || got != tc.want {
			t.Errorf("applySF(%v, %v) = %v, %v; want %v", tc.v, tc.sf, got, err, tc.want)
		}
	}
	if _, err := applySF(1.0, 11.0); err == nil {
		t.Error("scale factor 11 accepted")
	}
}

func TestEncodeRaw(t *testing.T) {
	if regs, err := encodeRaw(Uint16, 50, -2); err != nil || regs[0] != 5000 {
		t.Errorf("50%% at -2 = %v, %v", regs, err)
	}
	if regs, err := encodeRaw(Int16, -20.5, -2); err != nil || int16(regs[0]) != -2050 {
		t.Errorf("-20.5 at -2 = %v, %v", regs, err)
	}
	if _, err := encodeRaw(Uint16, 700, -2); err == nil {
		t.Error("70000 fits no uint16 (0xFFFF is the sentinel)")
	}
	if _, err := encodeRaw(Uint16, -1, 0); err == nil {
		t.Error("-1 accepted for uint16")
	}
	if _, err := encodeRaw(String, 1, 0); err == nil {
		t.Error("a string point took a number")
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"WMaxLimPct": "w_max_lim_pct", "WMaxLim_Ena": "w_max_lim_ena", "PFWInj.PF": "pfw_inj_pf",
		"StorCtl_Mod": "stor_ctl_mod", "W": "ac_power", "PhVphA": "voltage_l1", "TotWhImp": "energy_import",
		"SN": "serial_number", "Evt1": "evt1", "DERTyp": "der_typ",
	} {
		if got := commonNames().pointName(103, in); got != want {
			t.Errorf("pointName(%s) = %s, want %s", in, got, want)
		}
	}
	if got := commonNames().pointName(802, "W"); got != "power" {
		t.Errorf("802 W = %s", got)
	}
}
