package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/simonvetter/modbus"
)

// handler answers the server's requests (modbus.RequestHandler). Every
// answer is either data or one of the modbus.Error values, which the
// server sends as the exception of that code.
type handler struct {
	ctx context.Context // the gateway's: requests end when it stops
	cfg *Config
	up  Upstream
	bus Writer
	log *slog.Logger
	m   *metrics
}

func (h *handler) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	if req.IsWrite {
		return nil, h.write(req.ClientAddr, req.UnitId, "coil", req.Addr, nil, req.Args)
	}
	_, bits, err := h.read(req.ClientAddr, req.UnitId, "coil", req.Addr, req.Quantity)
	return bits, err
}

func (h *handler) HandleDiscreteInputs(req *modbus.DiscreteInputsRequest) ([]bool, error) {
	_, bits, err := h.read(req.ClientAddr, req.UnitId, "discrete", req.Addr, req.Quantity)
	return bits, err
}

func (h *handler) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if req.IsWrite {
		return nil, h.write(req.ClientAddr, req.UnitId, "holding", req.Addr, req.Args, nil)
	}
	regs, _, err := h.read(req.ClientAddr, req.UnitId, "holding", req.Addr, req.Quantity)
	return regs, err
}

func (h *handler) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	regs, _, err := h.read(req.ClientAddr, req.UnitId, "input", req.Addr, req.Quantity)
	return regs, err
}

// read answers a read from the cache or the device.
func (h *handler) read(client string, unit uint8, table string, addr, count uint16) ([]uint16, []bool, error) {
	if err := h.unitOK(unit); err != nil {
		h.m.count(client, "read", "refused")
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.Timeout.D())
	defer cancel()
	regs, bits, cached, err := h.up.ProxyRead(ctx, table, addr, count, h.cfg.MaxAge.D())
	switch {
	case err != nil:
		h.m.count(client, "read", "error")
		h.log.Debug("modbus proxy read failed", "client", client, "table", table, "address", addr, "count", count, "err", err)
		return nil, nil, upstreamError(err)
	case cached:
		h.m.count(client, "read", "cached")
	default:
		h.m.count(client, "read", "forwarded")
	}
	return regs, bits, nil
}

// write applies a write: to a datapoint through the bus, to an unmapped
// register as it is when allowed, else refused.
func (h *handler) write(client string, unit uint8, table string, addr uint16, regs []uint16, bits []bool) error {
	res, err := h.doWrite(client, unit, table, addr, regs, bits)
	h.m.count(client, "write", res)
	return err
}

func (h *handler) doWrite(client string, unit uint8, table string, addr uint16, regs []uint16, bits []bool) (string, error) {
	if err := h.unitOK(unit); err != nil {
		return "refused", err
	}
	if h.cfg.ReadOnly {
		return "refused", modbus.ErrIllegalFunction
	}
	name, v, found, err := h.up.ProxyDatapoint(table, addr, regs, bits)
	log := h.log.With("client", client, "table", table, "address", addr)
	switch {
	case found && err != nil:
		log.Warn("modbus proxy write refused", "datapoint", name, "raw", fmt.Sprint(regs, bits), "err", err)
		return "refused", modbus.ErrIllegalDataValue
	case !found && !h.cfg.AllowUnmappedWrites:
		log.Warn("modbus proxy write refused: no datapoint maps these registers", "count", max(len(regs), len(bits)))
		return "refused", modbus.ErrIllegalDataAddress
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.Timeout.D())
	defer cancel()
	if !found {
		if err := h.up.ProxyWrite(ctx, table, addr, regs, bits); err != nil {
			log.Warn("modbus proxy unmapped write failed", "err", err)
			return "error", upstreamError(err)
		}
		log.Info("modbus proxy unmapped write", "raw", fmt.Sprint(regs, bits))
		return "written", nil
	}
	if h.bus == nil {
		return "refused", modbus.ErrServerDeviceFailure
	}
	got, err := h.bus.Write(bus.WithSource(ctx, SourceProxy), h.cfg.Device, name, v)
	if err != nil {
		log.Warn("modbus proxy write failed", "datapoint", name, "value", v, "err", err)
		return writeResult(err)
	}
	log.Info("modbus proxy write", "datapoint", name, "value", v, "read_back", got)
	return "written", nil
}

// writeResult maps an error of the bus's write path to a result label and
// the exception the client gets.
func writeResult(err error) (string, error) {
	var inv *bus.InvalidError
	switch {
	case errors.Is(err, bus.ErrRateLimited):
		return "refused", modbus.ErrServerDeviceBusy
	case errors.Is(err, model.ErrNotWritable):
		return "refused", modbus.ErrIllegalDataAddress
	case errors.As(err, &inv):
		return "refused", modbus.ErrIllegalDataValue // limits, format, allowed values
	}
	return "error", upstreamError(err)
}

// unitOK checks the request's unit id against the proxy's.
func (h *handler) unitOK(unit uint8) error {
	if h.cfg.Unit != nil && int(unit) != *h.cfg.Unit {
		return modbus.ErrGWPathUnavailable
	}
	return nil
}

// upstreamError is the exception a client gets for a device error: the
// device's own exception, 0B when it did not answer in time, 04 otherwise.
func upstreamError(err error) error {
	var me modbus.Error
	if errors.As(err, &me) {
		switch me {
		case modbus.ErrIllegalFunction, modbus.ErrIllegalDataAddress, modbus.ErrIllegalDataValue,
			modbus.ErrServerDeviceFailure, modbus.ErrAcknowledge, modbus.ErrServerDeviceBusy,
			modbus.ErrMemoryParityError, modbus.ErrGWPathUnavailable, modbus.ErrGWTargetFailedToRespond:
			return me
		case modbus.ErrRequestTimedOut:
			return modbus.ErrGWTargetFailedToRespond
		}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return modbus.ErrGWTargetFailedToRespond
	}
	return modbus.ErrServerDeviceFailure
}

// SourceProxy names the Modbus proxy's writes in the audit log.
const SourceProxy = "modbus_proxy"
