package sim

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

// TestWallboxFollowsAllowedCurrent: over Modbus, the per-phase currents
// follow the written current, phases and enable from the next step on; a
// current below 6 A, disabling or an unplugged vehicle draw nothing.
func TestWallboxFollowsAllowedCurrent(t *testing.T) {
	s := startTest(t, "wallbox-sim")
	c := dial(t, s.Addr(), 1)
	currents := func() []uint16 { return readRegs(t, c, wbCurrentL1Addr, 3, modbus.INPUT_REGISTER) }
	if got := readRegs(t, c, 0, 3, modbus.HOLDING_REGISTER); !slices.Equal(got, []uint16{160, 1, 3}) {
		t.Fatalf("start holding registers %v, want [160 1 3]", got)
	}
	if got := currents(); !slices.Equal(got, []uint16{0, 0, 0}) {
		t.Fatalf("start currents %v, want 0 before the first step", got)
	}
	steps := []struct {
		name  string
		addr  uint16
		vals  []uint16
		want  []uint16
		power uint16 // W, low word
	}{
		{"16 A, 3 phases", wbMaxCurrentAddr, []uint16{160}, []uint16{1600, 1600, 1600}, 11040},
		{"1 phase", wbPhasesAddr, []uint16{1}, []uint16{1600, 0, 0}, 3680},
		{"10.5 A and 3 phases (FC 16)", wbMaxCurrentAddr, []uint16{105, 1, 3}, []uint16{1050, 1050, 1050}, 7245},
		{"5.9 A: below the minimum", wbMaxCurrentAddr, []uint16{59}, []uint16{0, 0, 0}, 0},
		{"32 A but disabled", wbMaxCurrentAddr, []uint16{320, 0}, []uint16{0, 0, 0}, 0},
		{"enabled again", wbEnabledAddr, []uint16{1}, []uint16{3200, 3200, 3200}, 22080},
	}
	for _, st := range steps {
		if err := c.WriteRegisters(st.addr, st.vals); err != nil {
			t.Fatalf("%s: write: %v", st.name, err)
		}
		s.step(time.Second)
		if got := currents(); !slices.Equal(got, st.want) {
			t.Errorf("%s: currents %v, want %v", st.name, got, st.want)
		}
		if got := readRegs(t, c, wbPowerAddr, 2, modbus.INPUT_REGISTER); got[1] != st.power {
			t.Errorf("%s: power %v, want %d W", st.name, got, st.power)
		}
	}
	if got := readRegs(t, c, wbStatusAddr, 1, modbus.INPUT_REGISTER)[0]; got != 2 {
		t.Errorf("status %d, want 2 (charging)", got)
	}
}

// TestWallboxRefusesBadWrites: values outside the device's range are
// refused whole (exception 3) and change nothing.
func TestWallboxRefusesBadWrites(t *testing.T) {
	s := startTest(t, "wallbox-sim")
	c := dial(t, s.Addr(), 1)
	for _, w := range []struct {
		addr uint16
		vals []uint16
	}{{wbMaxCurrentAddr, []uint16{321}}, {wbPhasesAddr, []uint16{2}}, {wbEnabledAddr, []uint16{2}}, {wbMaxCurrentAddr, []uint16{100, 1, 2}}} {
		wantErr(t, "bad write", c.WriteRegisters(w.addr, w.vals), modbus.ErrIllegalDataValue)
	}
	wantErr(t, "write beyond phases", c.WriteRegister(3, 1), modbus.ErrIllegalDataAddress)
	if got := readRegs(t, c, 0, 3, modbus.HOLDING_REGISTER); !slices.Equal(got, []uint16{160, 1, 3}) {
		t.Fatalf("holding registers after refused writes %v, want [160 1 3]", got)
	}
}

// TestWallboxVehicle: the vehicle's own limit caps the current; without a
// vehicle the wallbox draws nothing and reports status 0.
func TestWallboxVehicle(t *testing.T) {
	w := NewWallbox()
	w.SetVehicle(13)
	w.Step(time.Second)
	if got := w.Currents(); got != [3]float64{13, 13, 13} || w.Status() != 2 {
		t.Fatalf("vehicle limited to 13 A: %v status %d", got, w.Status())
	}
	w.SetVehicle(0)
	w.Step(time.Second)
	if got := w.Currents(); got != [3]float64{} || w.Status() != 0 {
		t.Fatalf("no vehicle: %v status %d", got, w.Status())
	}
}

// TestMeterFollowsWallbox: a wallbox added behind the grid meter shows in
// the meter's phase currents and total power.
func TestMeterFollowsWallbox(t *testing.T) {
	m, w := startTest(t, "janitza-umg96rm"), startTest(t, "wallbox-sim")
	if err := m.AddLoad(w); err != nil {
		t.Fatal(err)
	}
	if err := w.AddLoad(m); err == nil {
		t.Fatal("a wallbox took a load")
	}
	c := dial(t, m.Addr(), 1)
	power := func() float64 {
		r := readRegs(t, c, janPowerTotal, 2, modbus.INPUT_REGISTER)
		return float64(math.Float32frombits(uint32(r[0])<<16 | uint32(r[1])))
	}
	m.step(time.Second)
	before := power()
	w.step(time.Second) // the vehicle draws 16 A on three phases
	m.step(0)
	// 3 × 16 A × ~230 V × 0.95 ≈ 10.5 kW more; the base curve moves little in 0 s (noise ±60 W).
	if d := power() - before; d < 9500 || d > 11500 {
		t.Fatalf("meter power rose by %.0f W with the wallbox charging, want ≈ 10 500 W", d)
	}
}
