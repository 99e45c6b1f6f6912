package sim

import (
	"math"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

// Raw demo-room registers: float16 with its bytes swapped inside the register.
const (
	reg21  = 0x404D // 21.0 = float16 0x4D40
	reg213 = 0x534D // 21.3 ≈ float16 0x4D53
	reg24  = 0x004E // 24.0 = float16 0x4E00
	reg30  = 0x804F // 30.0 = float16 0x4F80
	reg15  = 0x804B // 15.0 = float16 0x4B80
	reg40  = 0x0051 // 40.0 = float16 0x5100
	reg10  = 0x0049 // 10.0 = float16 0x4900
	regNaN = 0x007E // NaN  = float16 0x7E00
)

func TestRoomStartRegisters(t *testing.T) {
	s := startTest(t, "demo-room")
	c := dial(t, s.Addr(), 1)
	if got := readRegs(t, c, 1, 1, modbus.INPUT_REGISTER)[0]; got != reg21 {
		t.Errorf("input 1 = %#04x, want %#04x (21.0)", got, reg21)
	}
	if got := readRegs(t, c, 1, 1, modbus.HOLDING_REGISTER)[0]; got != reg24 {
		t.Errorf("holding 1 = %#04x, want %#04x (24.0)", got, reg24)
	}
}

func TestRoomStepFollowsSetpoint(t *testing.T) {
	s := startTest(t, "demo-room")
	c := dial(t, s.Addr(), 1)
	s.step(time.Second)
	got := readRegs(t, c, 1, 1, modbus.INPUT_REGISTER)[0]
	if got != reg213 {
		t.Errorf("input 1 after one step = %#04x (%.4f), want %#04x (21.3)", got, decodeF16BA(got), reg213)
	}
	for range 100 {
		s.step(time.Second)
	}
	if v := decodeF16BA(readRegs(t, c, 1, 1, modbus.INPUT_REGISTER)[0]); math.Abs(v-24) > 0.05 {
		t.Errorf("temperature after 100 steps = %.3f, want 24.0", v)
	}
}

func TestRoomSetpointWrites(t *testing.T) {
	s := startTest(t, "demo-room")
	c := dial(t, s.Addr(), 1)
	tests := []struct {
		name     string
		multiple bool // function 16 instead of 6
		write    uint16
		want     uint16
	}{
		{"40 is clipped to 30 (FC 6)", false, reg40, reg30},
		{"10 is clipped to 15 (FC 16)", true, reg10, reg15},
		{"21 is kept", false, reg21, reg21},
	}
	for _, tc := range tests {
		var err error
		if tc.multiple {
			err = c.WriteRegisters(1, []uint16{tc.write})
		} else {
			err = c.WriteRegister(1, tc.write)
		}
		if err != nil {
			t.Fatalf("%s: write: %v", tc.name, err)
		}
		if got := readRegs(t, c, 1, 1, modbus.HOLDING_REGISTER)[0]; got != tc.want {
			t.Errorf("%s: holding 1 = %#04x, want %#04x", tc.name, got, tc.want)
		}
	}
}

func TestRoomStepAfterClippedWrite(t *testing.T) {
	s := startTest(t, "demo-room")
	c := dial(t, s.Addr(), 1)
	if err := c.WriteRegister(1, reg40); err != nil {
		t.Fatal(err)
	}
	s.step(time.Second) // 21 + (30 − 21) × 0.1 = 21.9
	if v := decodeF16BA(readRegs(t, c, 1, 1, modbus.INPUT_REGISTER)[0]); round1(v) != 21.9 {
		t.Errorf("temperature = %.4f, want 21.9", v)
	}
}

func TestRoomBadRequests(t *testing.T) {
	s := startTest(t, "demo-room")
	c := dial(t, s.Addr(), 1)
	wantErr(t, "NaN setpoint", c.WriteRegister(1, regNaN), modbus.ErrIllegalDataValue)
	wantErr(t, "write address 2", c.WriteRegister(2, reg21), modbus.ErrIllegalDataAddress)
	wantErr(t, "write spanning address 2", c.WriteRegisters(1, []uint16{reg21, reg21}), modbus.ErrIllegalDataAddress)
	_, err := c.ReadRegisters(0, 2, modbus.INPUT_REGISTER)
	wantErr(t, "read spanning address 0", err, modbus.ErrIllegalDataAddress)
	_, err = c.ReadRegisters(2, 1, modbus.HOLDING_REGISTER)
	wantErr(t, "read address 2", err, modbus.ErrIllegalDataAddress)
	if got := readRegs(t, c, 1, 1, modbus.HOLDING_REGISTER)[0]; got != reg24 {
		t.Errorf("setpoint after rejected writes = %#04x, want %#04x", got, reg24)
	}
}

func TestFloat16BARoundTrip(t *testing.T) {
	for _, v := range []float64{15, 21, 21.5, 24, 30, -5.5} {
		if got := decodeF16BA(encodeF16BA(v)); got != v {
			t.Errorf("decode(encode(%v)) = %v", v, got)
		}
	}
	if got := encodeF16BA(21); got != reg21 {
		t.Errorf("encode(21) = %#04x, want %#04x", got, reg21)
	}
}
