package sim

import (
	"math"
	"time"

	"github.com/simonvetter/modbus"
	"github.com/x448/float16"
)

// Demo-room registers and limits (docs/profiles.md "demo-room"; start values
// and dynamics in docs/simulators.md).
const (
	roomTempAddr     = 1 // input register: room temperature, float16 BA
	roomSetpointAddr = 1 // holding register: setpoint, float16 BA
	roomStartTemp    = 21.0
	roomStartSet     = 24.0
	roomMinSet       = 15.0
	roomMaxSet       = 30.0
	roomRate         = 0.1 // share of the setpoint gap closed per second
)

// room is the BEMCom demo room: the temperature follows the setpoint.
type room struct {
	temp, setpoint float64
	input, holding image
}

// newRoom returns the room in its start state.
func newRoom() *room {
	r := &room{temp: roomStartTemp, setpoint: roomStartSet, input: image{}, holding: image{}}
	r.sync()
	return r
}

// read implements device.
func (r *room) read(t table, addr, qty uint16) ([]uint16, error) {
	if t == input {
		return r.input.read(addr, qty)
	}
	return r.holding.read(addr, qty)
}

// write implements device: only the setpoint is writable; the device clips
// it to 15…30 and rejects NaN.
func (r *room) write(addr uint16, vals []uint16) error {
	if len(vals) != 1 || addr != roomSetpointAddr {
		return modbus.ErrIllegalDataAddress
	}
	v := decodeF16BA(vals[0])
	if math.IsNaN(v) {
		return modbus.ErrIllegalDataValue
	}
	r.setpoint = min(max(v, roomMinSet), roomMaxSet)
	r.sync()
	return nil
}

// step implements device: temperature += (setpoint − temperature) × 0.1 per second.
func (r *room) step(dt time.Duration) {
	k := min(roomRate*dt.Seconds(), 1)
	r.temp += (r.setpoint - r.temp) * k
	r.sync()
}

// sync encodes the state into the register images, rounded to 0.1.
func (r *room) sync() {
	r.input[roomTempAddr] = encodeF16BA(round1(r.temp))
	r.holding[roomSetpointAddr] = encodeF16BA(round1(r.setpoint))
}

// round1 rounds v to one decimal.
func round1(v float64) float64 { return math.Round(v*10) / 10 }

// encodeF16BA encodes v as float16 with its two bytes swapped inside the
// register (21.0 → 0x4D40 → 0x404D).
func encodeF16BA(v float64) uint16 {
	b := float16.Fromfloat32(float32(v)).Bits()
	return b<<8 | b>>8
}

// decodeF16BA is the inverse of encodeF16BA.
func decodeF16BA(reg uint16) float64 {
	return float64(float16.Frombits(reg<<8 | reg>>8).Float32())
}
