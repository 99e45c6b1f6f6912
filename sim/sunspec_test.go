package sim

import (
	"testing"

	"github.com/simonvetter/modbus"
)

// TestSunSpecChains: every value of the chain definitions names a point of
// its model, the marker is where docs/simulators.md says, and the Fronius
// GEN24 layout puts WMaxLimPct at 40242 and WMaxLim_Ena at 40246.
func TestSunSpecChains(t *testing.T) {
	for name, tc := range map[string]struct {
		d    *ssDevice
		base uint16
	}{"sunspec-int": {newSunSpecInt(), 40000}, "sunspec-float": {newSunSpecFloat(), 40000}, "sunspec-der": {newSunSpecDER(), 40001}} {
		if len(tc.d.unknown) > 0 {
			t.Errorf("%s: values for unknown points %v", name, tc.d.unknown)
		}
		if regs, err := tc.d.read(holding, tc.base, 2); err != nil || regs[0] != 0x5375 || regs[1] != 0x6E53 {
			t.Errorf("%s: marker at %d: %04X %v", name, tc.base, regs, err)
		}
	}
	f := newSunSpecFloat()
	if a := f.addrs["123.WMaxLimPct"]; a != 40242 {
		t.Errorf("WMaxLimPct at %d, want 40242", a)
	}
	if a := f.addrs["123.WMaxLim_Ena"]; a != 40246 {
		t.Errorf("WMaxLim_Ena at %d, want 40246", a)
	}
	if err := f.write(40242, []uint16{5000, 0, 0, 0, 1}); err != nil {
		t.Errorf("write WMaxLimPct..WMaxLim_Ena: %v", err)
	}
	if err := f.write(40069, []uint16{1}); err != modbus.ErrIllegalDataAddress {
		t.Errorf("write to a model header: %v, want illegal data address", err)
	}
}
