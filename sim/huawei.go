package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/simonvetter/modbus"
)

// Huawei SUN2000 holding registers (docs/profiles.md "huawei-sun2000";
// served values in docs/simulators.md). Huawei counts the meter's power
// positive when exporting; the battery's positive when charging.
const (
	hwRatedPower   = 30075 // uint32 W
	hwDCPower      = 32064 // int32 W
	hwACPower      = 32080 // int32 W
	hwTotalYield   = 32106 // uint32 ×0.01 kWh
	hwMeterStatus  = 37100 // uint16, 1 = meter normal, 0 = none/offline
	hwMeterVoltage = 37101 // int32 ×0.1 V, L2 and L3 follow every 2 registers
	hwMeterCurrent = 37107 // int32 ×0.01 A, L2 and L3 follow
	hwMeterPower   = 37113 // int32 W, positive = export
	hwMeterExport  = 37119 // uint32 ×0.01 kWh
	hwMeterImport  = 37121 // uint32 ×0.01 kWh
	hwMeterLast    = 37139 // end of the meter block the simulator serves
	hwBatCapacity  = 37758 // uint32 Wh
	hwBatSoC       = 37760 // uint16 ×0.1 %
	hwBatPower     = 37765 // int32 W, positive = charging
	hwBatCharged   = 37780 // uint32 ×0.01 kWh
	hwBatDischarge = 37782 // uint32 ×0.01 kWh
	hwBatLast      = 37799 // end of the battery block the simulator serves
	hwBatModel     = 47000 // uint16 product model, 0 = no battery, 2 = LUNA2000

	hwACWatts      = 5000    // W produced
	hwDCWatts      = 5200    // W from the panels
	hwExportWatts  = 1500    // W fed into the grid (meter register +1500)
	hwChargeWatts  = 2000    // W into the battery
	hwSoCPermille  = 553     // 55.3 %
	hwStartYield   = 1234567 // ×0.01 kWh
	hwAnswerDelay  = 20 * time.Millisecond
	hwQuiet        = 500 * time.Millisecond // strict: requests this soon after the connect are ignored
	hwVariantsHelp = "huawei-sun2000 (meter and battery), huawei-sun2000:pv (neither), huawei-sun2000:meter, " +
		"huawei-sun2000:battery; add strict (huawei-sun2000:strict, huawei-sun2000:pv,strict) to ignore requests within 0.5 s of the connect"
)

// huawei is a SUN2000 inverter producing a constant 5000 W, with an
// optional power meter (exporting 1500 W) and an optional LUNA2000 battery
// (charging 2000 W at 55.3 %). Like the real inverter it answers slowly
// (20 ms per request) and serves one client at a time (a new connection
// closes the previous one); strict, it also ignores requests sent within
// 0.5 s of the connect.
type huawei struct {
	meter, battery bool
	quiet          time.Duration
	yield          float64 // ×0.01 kWh
	regs           image
}

// newHuawei returns the simulator of a variant: a comma-separated list of
// at most one of pv (no meter, no battery), meter (meter only) and battery
// (battery only), and strict; "" has meter and battery.
func newHuawei(variant string) (*huawei, error) {
	h := &huawei{yield: hwStartYield, regs: image{}, meter: true, battery: true}
	parts := 0
	for _, v := range strings.Split(variant, ",") {
		switch v {
		case "":
			continue
		case "strict":
			h.quiet = hwQuiet
			continue
		case "pv":
			h.meter, h.battery = false, false
		case "meter":
			h.battery = false
		case "battery":
			h.meter = false
		default:
			return nil, fmt.Errorf("unknown variant %q (available: %s)", v, hwVariantsHelp)
		}
		if parts++; parts > 1 {
			return nil, fmt.Errorf("variant %q: give one of pv, meter, battery (available: %s)", variant, hwVariantsHelp)
		}
	}
	h.regs.putUint32(hwRatedPower, 10000)
	h.regs.putInt32(hwDCPower, hwDCWatts)
	h.regs.putInt32(hwACPower, hwACWatts)
	h.regs[hwMeterStatus] = 0
	h.regs[hwBatModel] = 0
	if h.meter {
		h.putMeter()
	}
	if h.battery {
		h.putBattery()
	}
	h.sync()
	return h, nil
}

func (h *huawei) putMeter() {
	for a := uint16(hwMeterVoltage); a <= hwMeterLast; a++ {
		h.regs[a] = 0
	}
	h.regs[hwMeterStatus] = 1
	for i := range uint16(3) {
		h.regs.putInt32(hwMeterVoltage+2*i, 2301+int32(i))       // 230.1, 230.2, 230.3 V
		h.regs.putInt32(hwMeterCurrent+2*i, -(217 + 2*int32(i))) // exporting: negative currents
	}
	h.regs.putInt32(hwMeterPower, hwExportWatts)
	h.regs.putUint32(hwMeterExport, 345678) // 3456.78 kWh
	h.regs.putUint32(hwMeterImport, 123456) // 1234.56 kWh
}

func (h *huawei) putBattery() {
	for a := uint16(hwBatCapacity); a <= hwBatLast; a++ {
		h.regs[a] = 0
	}
	h.regs[hwBatModel] = 2
	h.regs.putUint32(hwBatCapacity, 10000)
	h.regs[hwBatSoC] = hwSoCPermille
	h.regs.putInt32(hwBatPower, hwChargeWatts)
	h.regs.putUint32(hwBatCharged, 98765)
	h.regs.putUint32(hwBatDischarge, 87654)
}

// read implements device.
func (h *huawei) read(_ table, addr, qty uint16) ([]uint16, error) {
	return h.regs.read(addr, qty)
}

// write implements device: the simulated registers are read-only.
func (h *huawei) write(uint16, []uint16) error { return modbus.ErrIllegalDataAddress }

// step implements device: the yield integrates the AC power.
func (h *huawei) step(dt time.Duration) {
	h.yield += hwACWatts * dt.Hours() / 10 // W·h → ×0.01 kWh
	h.sync()
}

func (h *huawei) sync() { h.regs.putUint32(hwTotalYield, uint32(h.yield)) }

// answerDelay implements slow: the inverter takes its time to answer.
func (h *huawei) answerDelay() time.Duration { return hwAnswerDelay }

// quietAfterConnect implements exclusive.
func (h *huawei) quietAfterConnect() time.Duration { return h.quiet }
