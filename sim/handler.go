package sim

import (
	"math"
	"time"

	"github.com/simonvetter/modbus"
)

// table selects a register table of a request.
type table int

const (
	holding table = iota // function 3 (read), 6 and 16 (write)
	input                // function 4
)

// device is the model of one simulated device. The Server calls it with its
// mutex held, so implementations need no locking of their own.
type device interface {
	// read returns qty registers from addr, or modbus.ErrIllegalDataAddress
	// when any of them does not exist.
	read(t table, addr, qty uint16) ([]uint16, error)
	// write sets holding registers from addr; all or nothing.
	write(addr uint16, vals []uint16) error
	// step advances the simulated physics by dt.
	step(dt time.Duration)
}

// slow is implemented by devices that take time to answer (Huawei).
type slow interface{ answerDelay() time.Duration }

// handler adapts a Server to the library's modbus.RequestHandler.
type handler struct{ s *Server }

// HandleCoils answers function 1, 5 and 15: the simulated devices have no coils.
func (h handler) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	if err := h.s.accept(req.UnitId); err != nil {
		return nil, err
	}
	return nil, modbus.ErrIllegalDataAddress
}

// HandleDiscreteInputs answers function 2: the simulated devices have none.
func (h handler) HandleDiscreteInputs(req *modbus.DiscreteInputsRequest) ([]bool, error) {
	if err := h.s.accept(req.UnitId); err != nil {
		return nil, err
	}
	return nil, modbus.ErrIllegalDataAddress
}

// HandleHoldingRegisters answers function 3 (read) and 6/16 (write).
func (h handler) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if err := h.s.accept(req.UnitId); err != nil {
		return nil, err
	}
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if req.IsWrite {
		err := h.s.dev.write(req.Addr, req.Args)
		h.s.log.Debug("write", "addr", req.Addr, "values", req.Args, "err", err)
		return nil, err
	}
	return h.s.dev.read(holding, req.Addr, req.Quantity)
}

// HandleInputRegisters answers function 4.
func (h handler) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	if err := h.s.accept(req.UnitId); err != nil {
		return nil, err
	}
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.s.dev.read(input, req.Addr, req.Quantity)
}

// accept counts a request, waits the device's answer delay and rejects
// the request unless it is for the simulator's unit.
func (s *Server) accept(unit uint8) error {
	s.requests.Add(1)
	if sl, ok := s.dev.(slow); ok {
		time.Sleep(sl.answerDelay()) // the library serves each client in its own goroutine
	}
	if unit != s.unit {
		s.log.Debug("request for another unit", "unit", unit, "want", s.unit)
		return errNoUnit
	}
	return nil
}

// image is one register table: address → value. Addresses not in the map
// do not exist on the device.
type image map[uint16]uint16

// read returns qty registers from addr or ErrIllegalDataAddress when the
// range touches an address the device does not have.
func (im image) read(addr, qty uint16) ([]uint16, error) {
	out := make([]uint16, qty)
	for i := range out {
		v, ok := im[addr+uint16(i)]
		if !ok {
			return nil, modbus.ErrIllegalDataAddress
		}
		out[i] = v
	}
	return out, nil
}

// putUint32 stores v big-endian (high word first) at addr, addr+1.
func (im image) putUint32(addr uint16, v uint32) {
	im[addr] = uint16(v >> 16)
	im[addr+1] = uint16(v)
}

// putInt32 stores v as two's complement big-endian at addr, addr+1.
func (im image) putInt32(addr uint16, v int32) { im.putUint32(addr, uint32(v)) }

// putFloat32 stores v as IEEE 754 float32 big-endian at addr, addr+1.
func (im image) putFloat32(addr uint16, v float64) {
	im.putUint32(addr, math.Float32bits(float32(v)))
}
