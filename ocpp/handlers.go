package ocpp

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gridbox/gridbox/model"
)

// handler answers one validated call of a charge point.
type handler func(c *conn, payload []byte) (any, *callError)

// handlerFor returns the handler of an action a charge point sends; nil for
// OCPP 1.6 actions the central system does not take (those it sends itself).
func handlerFor(action string) handler {
	switch action {
	case "BootNotification":
		return handleBoot
	case "Heartbeat":
		return func(c *conn, _ []byte) (any, *callError) {
			c.s.seen(c.cp)
			return heartbeatConf{CurrentTime: ocppTime(time.Now())}, nil
		}
	case "StatusNotification":
		return handleStatus
	case "Authorize":
		return handleAuthorize
	case "StartTransaction":
		return handleStart
	case "StopTransaction":
		return handleStop
	case "MeterValues":
		return handleMeterValues
	case "DataTransfer":
		return handleDataTransfer
	case "DiagnosticsStatusNotification", "FirmwareStatusNotification":
		return func(c *conn, _ []byte) (any, *callError) { c.s.seen(c.cp); return empty{}, nil }
	}
	return nil
}

// decode unmarshals a validated payload.
func decode(payload []byte, v any) *callError {
	if err := json.Unmarshal(payload, v); err != nil {
		return &callError{FormationViolation, shorten(err.Error())}
	}
	return nil
}

// internal is the CallError for a failure of gridbox itself; a connector
// id out of range is the charge point's.
func internal(err error) *callError {
	if errors.Is(err, errConnector) {
		return &callError{PropertyConstraintViolation, err.Error()}
	}
	return &callError{InternalError, shorten(err.Error())}
}

// seen refreshes the charge point's state: online, last seen now.
func (s *Server) seen(cp *chargePoint) {
	cp.mu.Lock()
	added := cp.added
	cp.mu.Unlock()
	if added {
		s.bus.SetState(model.DeviceState{Device: cp.slug, Online: true, LastSeen: model.NowMs()}, 1, 0)
	}
}

// badInput shows a CallError sent in the charge point's device state (until
// its next valid message) and counts it as an error of the device.
func (s *Server) badInput(cp *chargePoint, e *callError) {
	cp.mu.Lock()
	added := cp.added
	cp.mu.Unlock()
	if added {
		s.bus.SetState(model.DeviceState{Device: cp.slug, Online: true, Error: "answered " + e.Error()}, 0, 1)
	}
}

func handleBoot(c *conn, payload []byte) (any, *callError) {
	var req bootReq
	if e := decode(payload, &req); e != nil {
		return nil, e
	}
	s, cp := c.s, c.cp
	if err := s.ensureDevice(cp); err != nil {
		return nil, internal(err)
	}
	s.online(cp, true, "")
	serial := req.ChargePointSerialNumber
	if serial == "" {
		serial = req.ChargeBoxSerialNumber
	}
	now := model.NowMs()
	var vals []model.Value
	for name, v := range map[string]string{"vendor": req.ChargePointVendor, "model": req.ChargePointModel, "firmware": req.FirmwareVersion, "serial": serial} {
		vals = append(vals, model.Value{Device: cp.slug, Name: name, Value: v, Time: now, Quality: model.Good})
	}
	s.bus.Publish(vals...)
	s.log.Info("boot notification", "charge_point", cp.id, "vendor", req.ChargePointVendor, "model", req.ChargePointModel)
	c.afterAnswer(func() { s.learnRateUnit(c) })
	return bootConf{Status: "Accepted", CurrentTime: ocppTime(time.Now()), Interval: int(s.cfg.Heartbeat.D() / time.Second)}, nil
}

// learnRateUnit asks the charge point which unit its charging profiles take
// (after its boot, on the connection's own goroutine).
func (s *Server) learnRateUnit(c *conn) {
	ctx, cancel := context.WithTimeout(c.ctx, s.cfg.CallTimeout.D())
	defer cancel()
	keys, err := s.getConfiguration(ctx, c, []string{"ChargingScheduleAllowedChargingRateUnit"})
	if err != nil {
		s.log.Warn("ChargingScheduleAllowedChargingRateUnit unknown: limits are sent in A", "charge_point", c.cp.id, "error", err)
		return
	}
	for _, k := range keys {
		if k.Key == "ChargingScheduleAllowedChargingRateUnit" && k.Value != nil {
			v := strings.ToLower(*k.Value)
			c.cp.mu.Lock()
			c.cp.powerOnly = strings.Contains(v, "power") && !strings.Contains(v, "current")
			c.cp.mu.Unlock()
		}
	}
}

func handleStatus(c *conn, payload []byte) (any, *callError) {
	var req statusReq
	if e := decode(payload, &req); e != nil {
		return nil, e
	}
	s, cp := c.s, c.cp
	dev := cp.slug
	if req.ConnectorID > 0 {
		if err := s.ensureConnector(cp, req.ConnectorID); err != nil {
			return nil, internal(err)
		}
		dev = connectorID(cp.slug, req.ConnectorID)
	} else if err := s.ensureDevice(cp); err != nil {
		return nil, internal(err)
	}
	s.seen(cp)
	now := model.NowMs()
	vals := []model.Value{{Device: dev, Name: "status", Value: req.Status, Time: now, Quality: model.Good}}
	if req.ConnectorID > 0 {
		vals = append(vals, model.Value{Device: dev, Name: "enabled", Value: req.Status != "Unavailable", Time: now, Quality: model.Good})
	}
	s.bus.Publish(vals...)
	return empty{}, nil
}

// tagStatus is the idTagInfo status of an id tag.
func (s *Server) tagStatus(tag string) string {
	if len(s.tags) == 0 || s.tags[tag] {
		return "Accepted"
	}
	return "Invalid"
}

func handleAuthorize(c *conn, payload []byte) (any, *callError) {
	var req authorizeReq
	if e := decode(payload, &req); e != nil {
		return nil, e
	}
	c.s.seen(c.cp)
	return idTagConf{IDTagInfo: idTagInfo{Status: c.s.tagStatus(req.IDTag)}}, nil
}

func handleDataTransfer(c *conn, payload []byte) (any, *callError) {
	var req dataTransferReq
	if e := decode(payload, &req); e != nil {
		return nil, e
	}
	c.s.seen(c.cp)
	if slices.Contains(c.s.cfg.DataTransfer, req.VendorID) {
		return statusConf{Status: "Accepted"}, nil
	}
	return statusConf{Status: "UnknownVendorId"}, nil
}

// parseTime reads an OCPP timestamp; now if it cannot be read.
func parseTime(s string) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	return time.Now()
}
