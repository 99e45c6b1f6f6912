package sim

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

// janValues are the decoded measurements of one read of the meter.
type janValues struct {
	v, i, p        [3]float64
	vll            [3]float64
	in, total      float64
	freq, imp, exp float64
}

// readJanitza reads the profile's registers as float32 big-endian.
func readJanitza(t *testing.T, c *modbus.ModbusClient, rt modbus.RegType) janValues {
	t.Helper()
	f := func(addr, n uint16) []float64 {
		vals, err := c.ReadFloat32s(addr, n, rt)
		if err != nil {
			t.Fatalf("read float32 %d@%d: %v", n, addr, err)
		}
		out := make([]float64, n)
		for k, v := range vals {
			out[k] = float64(v)
		}
		return out
	}
	block := f(19000, 14) // 19000..19027 in one read
	var j janValues
	copy(j.v[:], block[0:3])
	copy(j.vll[:], block[3:6])
	copy(j.i[:], block[6:9])
	j.in = block[9]
	copy(j.p[:], block[10:13])
	j.total = block[13]
	j.freq = f(19050, 1)[0]
	j.imp = f(19068, 1)[0]
	j.exp = f(19076, 1)[0]
	return j
}

func TestJanitzaConsistentValues(t *testing.T) {
	s := startTest(t, "janitza-umg96rm")
	c := dial(t, s.Addr(), 1)
	var sawImport, sawExport bool
	for n := range 130 { // one full period of the power curve
		if n > 0 {
			s.step(time.Second)
		}
		j := readJanitza(t, c, modbus.INPUT_REGISTER)
		if sum := j.p[0] + j.p[1] + j.p[2]; math.Abs(j.total-sum) > 0.01 {
			t.Fatalf("t=%d: total power %.3f != sum of phases %.3f", n, j.total, sum)
		}
		for k := range 3 {
			if j.v[k] < 228 || j.v[k] > 232 {
				t.Errorf("t=%d: voltage L%d = %.2f, want 230 ± 2", n, k+1, j.v[k])
			}
			if want := math.Abs(j.p[k]) / (j.v[k] * 0.95); math.Abs(j.i[k]-want) > 0.001*want+1e-3 {
				t.Errorf("t=%d: current L%d = %.3f A, want |P|/(V·0.95) = %.3f", n, k+1, j.i[k], want)
			}
			if j.vll[k] < 390 || j.vll[k] > 405 {
				t.Errorf("t=%d: line voltage %d = %.1f, want ≈ 398", n, k, j.vll[k])
			}
		}
		if j.freq < 49.95 || j.freq > 50.05 {
			t.Errorf("t=%d: frequency %.3f, want 49.95..50.05", n, j.freq)
		}
		sawImport = sawImport || j.total > 0
		sawExport = sawExport || j.total < 0
	}
	if !sawImport || !sawExport {
		t.Errorf("over one period: import seen %v, export seen %v; want both", sawImport, sawExport)
	}
}

func TestJanitzaEnergyIntegratesPower(t *testing.T) {
	s := startTest(t, "janitza-umg96rm")
	c := dial(t, s.Addr(), 1)
	before := readJanitza(t, c, modbus.INPUT_REGISTER)
	s.step(time.Hour)
	after := readJanitza(t, c, modbus.INPUT_REGISTER)
	dImp, dExp := after.imp-before.imp, after.exp-before.exp
	// The step integrates the power read before it over one hour.
	want := before.total
	if got := dImp - dExp; math.Abs(got-want) > 0.5 || dImp < 0 || dExp < 0 {
		t.Errorf("after 1 h at %.1f W: import +%.2f Wh, export +%.2f Wh; want net %.1f Wh, both counters not decreasing",
			want, dImp, dExp, want)
	}
}

func TestJanitzaTablesAgree(t *testing.T) {
	s := startTest(t, "janitza-umg96rm")
	c := dial(t, s.Addr(), 1)
	in := readRegs(t, c, 19000, 122, modbus.INPUT_REGISTER)
	hold := readRegs(t, c, 19000, 122, modbus.HOLDING_REGISTER)
	if !slices.Equal(in, hold) {
		t.Errorf("input and holding images differ")
	}
	_, err := c.ReadRegisters(19120, 4, modbus.INPUT_REGISTER)
	wantErr(t, "read past the block", err, modbus.ErrIllegalDataAddress)
	wantErr(t, "write", c.WriteFloat32(19026, 1), modbus.ErrIllegalDataAddress)
}
