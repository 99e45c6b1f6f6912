package sim

import (
	"slices"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

// TestSMAReferenceRegisters: the raw registers docs/simulators.md gives, over
// function 3 and function 4.
func TestSMAReferenceRegisters(t *testing.T) {
	s := startTest(t, "sma-stp")
	c := dial(t, s.Addr(), 3)
	tests := []struct {
		name string
		addr uint16
		want []uint16
	}{
		{"device class 8081", 30051, []uint16{0, 8081}},
		{"device type 9197", 30053, []uint16{0, 9197}},
		{"serial 1234567890", 30057, []uint16{18838, 722}},
		{"condition ok", 30201, []uint16{0, 307}},
		{"total yield 8106606 Wh", 30529, []uint16{123, 45678}},
		{"AC power 12345 W", 30775, []uint16{0, 12345}},
		{"AC power L1..L3 4115 W", 30777, []uint16{0, 4115, 0, 4115, 0, 4115}},
		{"not-available sentinel", 30955, []uint16{0x8000, 0}},
	}
	for _, tc := range tests {
		for _, rt := range []modbus.RegType{modbus.HOLDING_REGISTER, modbus.INPUT_REGISTER} {
			got := readRegs(t, c, tc.addr, uint16(len(tc.want)), rt)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s (regtype %v): registers %d = %v, want %v", tc.name, rt, tc.addr, got, tc.want)
			}
		}
	}
}

func TestSMAPlausibleVaryingValues(t *testing.T) {
	s := startTest(t, "sma-stp")
	c := dial(t, s.Addr(), 3)
	for range 5 {
		s.step(time.Second)
		volts, err := c.ReadUint32s(30783, 3, modbus.HOLDING_REGISTER)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range volts {
			if v < 22900 || v > 23100 {
				t.Errorf("voltage register %d, want 22900..23100 (×0.01 V)", v)
			}
		}
		if f, _ := c.ReadUint32(30803, modbus.HOLDING_REGISTER); f < 4995 || f > 5005 {
			t.Errorf("frequency register %d, want 4995..5005 (×0.01 Hz)", f)
		}
		if tr, _ := c.ReadUint32(30953, modbus.HOLDING_REGISTER); tr < 340 || tr > 360 {
			t.Errorf("temperature register %d, want 340..360 (×0.1 °C)", tr)
		}
	}
}

func TestSMAYieldIntegratesPower(t *testing.T) {
	s := startTest(t, "sma-stp")
	c := dial(t, s.Addr(), 3)
	s.step(time.Hour)
	got, err := c.ReadUint32(30529, modbus.HOLDING_REGISTER)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint32(8106606 + 12345); got != want {
		t.Errorf("total yield after 1 h at 12345 W = %d Wh, want %d", got, want)
	}
	if p := readRegs(t, c, 30775, 2, modbus.HOLDING_REGISTER); !slices.Equal(p, []uint16{0, 12345}) {
		t.Errorf("AC power after a step = %v, want [0 12345]", p)
	}
}

func TestSMAUnknownAddresses(t *testing.T) {
	s := startTest(t, "sma-stp")
	c := dial(t, s.Addr(), 3)
	tests := []struct {
		name      string
		addr, qty uint16
	}{
		{"unknown address", 30055, 2},
		{"read spanning an unknown address", 30057, 4},
		{"read starting before a known address", 30774, 3},
		{"address 0", 0, 1},
	}
	for _, tc := range tests {
		_, err := c.ReadRegisters(tc.addr, tc.qty, modbus.HOLDING_REGISTER)
		wantErr(t, tc.name, err, modbus.ErrIllegalDataAddress)
	}
	wantErr(t, "write", c.WriteRegister(30775, 1), modbus.ErrIllegalDataAddress)
	_, err := c.ReadCoils(0, 1)
	wantErr(t, "coils", err, modbus.ErrIllegalDataAddress)
}
