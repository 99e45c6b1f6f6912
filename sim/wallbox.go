package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/simonvetter/modbus"
)

// Wallbox-sim registers (docs/profiles.md "wallbox-sim"; start values and
// dynamics in docs/simulators.md).
const (
	wbMaxCurrentAddr = 0 // holding: allowed current, A × 10
	wbEnabledAddr    = 1 // holding: 0/1
	wbPhasesAddr     = 2 // holding: 1 or 3
	wbCurrentL1Addr  = 0 // input: A × 100, L2 and L3 follow
	wbPowerAddr      = 3 // input: uint32 W
	wbStatusAddr     = 5 // input: 0 available, 1 connected, 2 charging
	wbEnergyAddr     = 6 // input: uint32 Wh

	// WallboxMinCurrent is the lowest current a vehicle charges with (IEC 61851): below it the wallbox draws nothing.
	WallboxMinCurrent = 6.0
	// WallboxMaxCurrent is the highest current the wallbox allows, A.
	WallboxMaxCurrent = 32.0
	wbVoltage         = 230.0
	wbStartCurrent    = 16.0
)

// Wallbox is the model of the simulated wallbox: a vehicle draws the allowed
// current (capped by the vehicle's own limit) on the active phases, from the
// next step on. Tests use it in-process (NewWallbox, Step) without Modbus;
// `gridbox sim wallbox-sim` serves it over Modbus TCP.
type Wallbox struct {
	maxCurrent float64
	enabled    bool
	phases     int
	carMax     float64 // the vehicle's own limit, A; 0 = no vehicle
	currents   [3]float64
	energy     float64 // Wh
}

// NewWallbox returns a wallbox in its start state: 16 A allowed, enabled,
// 3 phases, a vehicle that takes up to 32 A connected, drawing nothing yet.
func NewWallbox() *Wallbox {
	return &Wallbox{maxCurrent: wbStartCurrent, enabled: true, phases: 3, carMax: WallboxMaxCurrent}
}

// SetMaxCurrent sets the allowed current (0…32 A).
func (w *Wallbox) SetMaxCurrent(a float64) error {
	if math.IsNaN(a) || a < 0 || a > WallboxMaxCurrent {
		return fmt.Errorf("max_current %v: want 0…%v A", a, WallboxMaxCurrent)
	}
	w.maxCurrent = a
	return nil
}

// SetEnabled allows or forbids charging.
func (w *Wallbox) SetEnabled(on bool) { w.enabled = on }

// SetPhases switches between 1-phase (L1) and 3-phase charging.
func (w *Wallbox) SetPhases(n int) error {
	if n != 1 && n != 3 {
		return fmt.Errorf("phases %d: want 1 or 3", n)
	}
	w.phases = n
	return nil
}

// SetVehicle connects a vehicle that draws at most maxA per phase; 0 unplugs it.
func (w *Wallbox) SetVehicle(maxA float64) { w.carMax = max(maxA, 0) }

// MaxCurrent, Enabled and Phases return the settings.
func (w *Wallbox) MaxCurrent() float64 { return w.maxCurrent }

// Enabled reports whether charging is allowed.
func (w *Wallbox) Enabled() bool { return w.enabled }

// Phases returns 1 or 3.
func (w *Wallbox) Phases() int { return w.phases }

// Currents returns the current drawn per phase, A.
func (w *Wallbox) Currents() [3]float64 { return w.currents }

// Power returns the power drawn, W (230 V per phase).
func (w *Wallbox) Power() float64 {
	return (w.currents[0] + w.currents[1] + w.currents[2]) * wbVoltage
}

// Status is 0 (no vehicle), 1 (vehicle connected, not charging) or 2 (charging).
func (w *Wallbox) Status() int {
	switch {
	case w.carMax == 0:
		return 0
	case w.Power() == 0:
		return 1
	}
	return 2
}

// Step advances the model by dt: the energy integrates the last currents,
// then the currents follow the allowed current (below 6 A, disabled or
// without a vehicle: nothing).
func (w *Wallbox) Step(dt time.Duration) {
	w.energy += w.Power() * dt.Hours()
	a := min(w.maxCurrent, w.carMax)
	if !w.enabled || a < WallboxMinCurrent {
		a = 0
	}
	w.currents = [3]float64{}
	for k := range w.phases {
		w.currents[k] = a
	}
}

// wallboxDev serves a Wallbox over Modbus registers.
type wallboxDev struct {
	*Wallbox
	input, holding image
}

func newWallboxDev() *wallboxDev {
	d := &wallboxDev{Wallbox: NewWallbox(), input: image{}, holding: image{}}
	d.sync()
	return d
}

// read implements device.
func (d *wallboxDev) read(t table, addr, qty uint16) ([]uint16, error) {
	if t == input {
		return d.input.read(addr, qty)
	}
	return d.holding.read(addr, qty)
}

// write implements device: the three holding registers, all or nothing.
func (d *wallboxDev) write(addr uint16, vals []uint16) error {
	if int(addr)+len(vals) > wbPhasesAddr+1 {
		return modbus.ErrIllegalDataAddress
	}
	next := *d.Wallbox
	for i, v := range vals {
		var err error
		switch addr + uint16(i) {
		case wbMaxCurrentAddr:
			err = next.SetMaxCurrent(float64(v) / 10)
		case wbEnabledAddr:
			if v > 1 {
				err = fmt.Errorf("enabled %d: want 0 or 1", v)
			}
			next.SetEnabled(v == 1)
		case wbPhasesAddr:
			err = next.SetPhases(int(v))
		}
		if err != nil {
			return modbus.ErrIllegalDataValue
		}
	}
	*d.Wallbox = next
	d.sync()
	return nil
}

// step implements device.
func (d *wallboxDev) step(dt time.Duration) {
	d.Step(dt)
	d.sync()
}

// sync encodes the state into the register images.
func (d *wallboxDev) sync() {
	d.holding[wbMaxCurrentAddr] = uint16(math.Round(d.maxCurrent * 10))
	d.holding[wbEnabledAddr] = map[bool]uint16{false: 0, true: 1}[d.enabled]
	d.holding[wbPhasesAddr] = uint16(d.phases)
	for k := range uint16(3) {
		d.input[wbCurrentL1Addr+k] = uint16(math.Round(d.currents[k] * 100))
	}
	d.input.putUint32(wbPowerAddr, uint32(math.Round(d.Power())))
	d.input[wbStatusAddr] = uint16(d.Status())
	d.input.putUint32(wbEnergyAddr, uint32(d.energy))
}
