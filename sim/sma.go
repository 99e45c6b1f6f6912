package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/simonvetter/modbus"
)

// SMA Sunny Tripower registers (docs/profiles.md "sma-stp"; served values in
// docs/simulators.md), all two-word values, high word first.
const (
	smaDeviceClass  = 30051 // uint32, 8081 = solar inverter
	smaDeviceType   = 30053 // uint32, 9197
	smaSerial       = 30057 // uint32, 1234567890
	smaCondition    = 30201 // uint32, 307 = ok
	smaTotalYield   = 30529 // uint32 Wh
	smaACPower      = 30775 // int32 W
	smaACPowerL1    = 30777 // int32 W, L2 and L3 follow every 2 registers
	smaVoltageL1    = 30783 // uint32 ×0.01 V, L2 and L3 follow every 2 registers
	smaFrequency    = 30803 // uint32 ×0.01 Hz
	smaTemperature  = 30953 // int32 ×0.1 °C
	smaNotAvailable = 30955 // int32 0x80000000 ("not available"); not in the profile

	smaPower      = 12345   // W, fixed so tests can assert it
	smaPhasePower = 4115    // W per phase; 3 × 4115 = 12345
	smaStartYield = 8106606 // Wh
	smaCondOK     = 307     // condition "ok"
	smaSentinel   = 1 << 31 // int32 0x80000000
	smaSerialNo   = 1234567890
)

// sma is an SMA Sunny Tripower feeding in a constant 12345 W; voltages,
// frequency and temperature wander slightly, the total yield grows by the
// energy produced. Function 3 and 4 read the same image.
type sma struct {
	rng   *rand.Rand
	yield float64 // Wh
	regs  image
}

// newSMA returns the inverter in its start state.
func newSMA() *sma {
	s := &sma{rng: newRand(), yield: smaStartYield, regs: image{}}
	s.regs.putUint32(smaDeviceClass, 8081)
	s.regs.putUint32(smaDeviceType, 9197)
	s.regs.putUint32(smaSerial, smaSerialNo)
	s.regs.putUint32(smaCondition, smaCondOK)
	s.regs.putInt32(smaACPower, smaPower)
	for i := range uint16(3) {
		s.regs.putInt32(smaACPowerL1+2*i, smaPhasePower)
	}
	s.regs.putUint32(smaNotAvailable, smaSentinel)
	s.sync()
	return s
}

// read implements device; both tables are the same image.
func (s *sma) read(_ table, addr, qty uint16) ([]uint16, error) {
	return s.regs.read(addr, qty)
}

// write implements device: every simulated register is read-only.
func (s *sma) write(uint16, []uint16) error { return modbus.ErrIllegalDataAddress }

// step implements device: the yield integrates the AC power.
func (s *sma) step(dt time.Duration) {
	s.yield += smaPower * dt.Hours()
	s.sync()
}

// sync writes the varying values into the image.
func (s *sma) sync() {
	s.regs.putUint32(smaTotalYield, uint32(math.Floor(s.yield)))
	for i := range uint16(3) {
		s.regs.putUint32(smaVoltageL1+2*i, uint32(23000+s.rng.IntN(201)-100)) // 229.00…231.00 V
	}
	s.regs.putUint32(smaFrequency, uint32(5000+s.rng.IntN(5)-2)) // 49.98…50.02 Hz
	s.regs.putInt32(smaTemperature, int32(350+s.rng.IntN(11)-5)) // 34.5…35.5 °C
}

// newRand returns a random source for one simulator (no shared state).
func newRand() *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	return rand.New(rand.NewPCG(seed, seed>>1|1))
}
