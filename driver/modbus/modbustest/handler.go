package modbustest

import "github.com/simonvetter/modbus"

// handler answers the wire library's requests from the server's images.
type handler struct{ s *Server }

func (h handler) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	im, err := h.s.image(req.UnitId)
	if err != nil {
		return nil, err
	}
	return im.bitsRequest(Coil, req.Addr, req.Quantity, req.IsWrite, req.Args)
}

func (h handler) HandleDiscreteInputs(req *modbus.DiscreteInputsRequest) ([]bool, error) {
	im, err := h.s.image(req.UnitId)
	if err != nil {
		return nil, err
	}
	return im.bitsRequest(Discrete, req.Addr, req.Quantity, false, nil)
}

func (h handler) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	im, err := h.s.image(req.UnitId)
	if err != nil {
		return nil, err
	}
	return im.regsRequest(Holding, req.Addr, req.Quantity, req.IsWrite, req.Args)
}

func (h handler) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	im, err := h.s.image(req.UnitId)
	if err != nil {
		return nil, err
	}
	return im.regsRequest(Input, req.Addr, req.Quantity, false, nil)
}

func (im *Image) regsRequest(t Table, addr, qty uint16, write bool, args []uint16) ([]uint16, error) {
	if im.busy.Add(-1) >= 0 {
		return nil, modbus.ErrServerDeviceBusy
	}
	im.busy.Store(0)
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.failing(t, addr, qty) {
		return nil, modbus.ErrIllegalDataAddress
	}
	if write {
		for i, v := range args {
			a := addr + uint16(i)
			if c, ok := im.clip[a]; ok {
				v = min(max(v, c[0]), c[1])
			}
			im.regs[t][a] = v
		}
		return nil, nil
	}
	out := make([]uint16, qty)
	for i := range out {
		out[i] = im.regs[t][addr+uint16(i)]
	}
	return out, nil
}

func (im *Image) bitsRequest(t Table, addr, qty uint16, write bool, args []bool) ([]bool, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.failing(t, addr, qty) {
		return nil, modbus.ErrIllegalDataAddress
	}
	m := im.bits[t-Coil]
	if write {
		for i, b := range args {
			m[addr+uint16(i)] = b
		}
		return nil, nil
	}
	out := make([]bool, qty)
	for i := range out {
		out[i] = m[addr+uint16(i)]
	}
	return out, nil
}
