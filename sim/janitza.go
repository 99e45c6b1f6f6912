package sim

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"time"

	"github.com/simonvetter/modbus"
)

// Janitza UMG 96RM float32 registers (docs/profiles.md "janitza-umg96rm";
// served values in docs/simulators.md).
const (
	janFirst       = 19000 // first register of the measurement block
	janLast        = 19121 // last register of the block (61 float32 values)
	janVoltageL1   = 19000 // V, L2 and L3 follow every 2 registers
	janVoltageL1L2 = 19006 // V, L2-L3 and L3-L1 follow
	janCurrentL1   = 19012 // A, L2 and L3 follow
	janCurrentN    = 19018 // A
	janPowerL1     = 19020 // W, L2 and L3 follow
	janPowerTotal  = 19026 // W, import positive
	janFrequency   = 19050 // Hz
	janImport      = 19068 // Wh
	janExport      = 19076 // Wh

	janPowerFactor = 0.95
	janStartImport = 1234567.0 // Wh
	janStartExport = 234567.0  // Wh
)

// janPhase describes one phase's smooth power curve: mean + amp·sin(2πt/period + shift).
type janPhase struct{ mean, amp, period, shift float64 }

// janCurves returns the phase power curves; their sum dips below zero (export).
func janCurves() [3]janPhase {
	return [3]janPhase{
		{mean: 500, amp: 2500, period: 120, shift: 0},
		{mean: 600, amp: 900, period: 120, shift: 2},
		{mean: 300, amp: 400, period: 90, shift: 4},
	}
}

// janitza is a grid meter whose phase powers vary smoothly (sine + noise);
// currents follow the power, energies integrate it. Function 3 and 4 read
// the same image; registers of the block the profile does not use read 0.0.
type janitza struct {
	rng            *rand.Rand
	t              float64             // seconds since start
	power          float64             // last total power, W
	loads          []func() [3]float64 // currents of other simulated devices behind the meter (AddLoad), A
	imported, expd float64             // Wh
	regs           image
}

// newJanitza returns the meter at t = 0.
func newJanitza() *janitza {
	j := &janitza{rng: newRand(), imported: janStartImport, expd: janStartExport, regs: image{}}
	for a := uint16(janFirst); a <= janLast; a++ {
		j.regs[a] = 0
	}
	j.sync()
	return j
}

// read implements device; both tables are the same image.
func (j *janitza) read(_ table, addr, qty uint16) ([]uint16, error) {
	return j.regs.read(addr, qty)
}

// write implements device: a meter has nothing to write.
func (j *janitza) write(uint16, []uint16) error { return modbus.ErrIllegalDataAddress }

// step implements device: energies integrate the power of the last interval.
func (j *janitza) step(dt time.Duration) {
	wh := j.power * dt.Hours()
	if wh > 0 {
		j.imported += wh
	} else {
		j.expd -= wh
	}
	j.t += dt.Seconds()
	j.sync()
}

// sync computes the measurements at time j.t and writes the image.
func (j *janitza) sync() {
	var v, p, i [3]float64
	for k, c := range janCurves() {
		v[k] = f32(230 + 1.5*math.Sin(2*math.Pi*j.t/300+float64(k)) + j.noise(0.3))
		p[k] = f32(c.mean + c.amp*math.Sin(2*math.Pi*j.t/c.period+c.shift) + j.noise(20) + j.load(k)*v[k]*janPowerFactor)
		i[k] = f32(math.Abs(p[k]) / (v[k] * janPowerFactor))
	}
	for k := range uint16(3) {
		j.regs.putFloat32(janVoltageL1+2*k, v[k])
		j.regs.putFloat32(janVoltageL1L2+2*k, lineVoltage(v[k], v[(k+1)%3]))
		j.regs.putFloat32(janCurrentL1+2*k, i[k])
		j.regs.putFloat32(janPowerL1+2*k, p[k])
	}
	j.power = p[0] + p[1] + p[2]
	j.regs.putFloat32(janPowerTotal, j.power)
	j.regs.putFloat32(janCurrentN, neutral(i))
	freq := 50 + 0.04*math.Sin(2*math.Pi*j.t/47) + j.noise(0.005)
	j.regs.putFloat32(janFrequency, min(max(freq, 49.95), 50.05))
	j.regs.putFloat32(janImport, j.imported)
	j.regs.putFloat32(janExport, j.expd)
}

// load is the current of the devices behind the meter on phase k, A.
func (j *janitza) load(k int) float64 {
	a := 0.0
	for _, f := range j.loads {
		a += f()[k]
	}
	return a
}

// noise returns a uniform random value in [-a, a].
func (j *janitza) noise(a float64) float64 { return a * (2*j.rng.Float64() - 1) }

// f32 rounds v to float32 precision, so sums match what a client decodes.
func f32(v float64) float64 { return float64(float32(v)) }

// lineVoltage is the line-to-line voltage of two phase voltages 120° apart.
func lineVoltage(a, b float64) float64 { return math.Sqrt(a*a + b*b + a*b) }

// neutral is the magnitude of the phasor sum of three phase currents 120° apart.
func neutral(i [3]float64) float64 {
	var sum complex128
	for k, a := range i {
		sum += cmplx.Rect(a, -2*math.Pi*float64(k)/3)
	}
	return cmplx.Abs(sum)
}
