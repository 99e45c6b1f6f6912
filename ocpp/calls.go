package ocpp

import (
	"context"
	"errors"
	"fmt"
)

// Call sends action with req to charge point cpID (its id as it sends it)
// and decodes the answer into resp. Request and answer are checked against
// the OCPP 1.6 schemas; the result is counted by action.
func (s *Server) Call(ctx context.Context, cpID, action string, req, resp any) error {
	s.mu.Lock()
	cp := s.cps[cpID]
	s.mu.Unlock()
	var c *conn
	if cp != nil {
		c = cp.current()
	}
	if c == nil {
		s.m.calls.WithLabelValues(action, resultOffline).Inc()
		return fmt.Errorf("%s to %s: %w", action, cpID, ErrOffline)
	}
	return s.callOn(ctx, c, action, req, resp)
}

func (s *Server) callOn(ctx context.Context, c *conn, action string, req, resp any) error {
	err := c.call(ctx, action, req, resp)
	result := resultOK
	switch {
	case errors.Is(err, errTimeout):
		result = resultTimeout
	case errors.Is(err, ErrOffline):
		result = resultOffline
	case err != nil:
		result = resultError
	}
	s.m.calls.WithLabelValues(action, result).Inc()
	if err != nil {
		s.log.Warn("call failed", "charge_point", c.cp.id, "action", action, "error", err)
	}
	return err
}

// accepted calls action and checks that the answer's status is one of ok.
func (s *Server) accepted(ctx context.Context, cpID, action string, req any, ok ...string) error {
	var conf statusConf
	if err := s.Call(ctx, cpID, action, req, &conf); err != nil {
		return err
	}
	for _, st := range ok {
		if conf.Status == st {
			return nil
		}
	}
	return fmt.Errorf("%s to %s: charge point answered %s", action, cpID, conf.Status)
}

// Profile ids gridbox uses: one default and one transaction profile per
// connector, so a new limit replaces the one before.
func defaultProfileID(n int) int { return 1000 + n }
func txProfileID(n int) int      { return 2000 + n }

// SetCurrentLimit sends connector n a charging profile limiting it to amps:
// a TxProfile for its running transaction, else a TxDefaultProfile. The
// limit is in A, or in W (amps × voltage × phases) when the charge point's
// ChargingScheduleAllowedChargingRateUnit allows only Power.
func (s *Server) SetCurrentLimit(ctx context.Context, cpID string, n int, amps float64) error {
	cp := s.chargePoint(cpID)
	cp.mu.Lock()
	powerOnly := cp.powerOnly
	cp.mu.Unlock()
	sched := ChargingSchedule{ChargingRateUnit: "A", ChargingSchedulePeriod: []SchedulePeriod{{StartPeriod: 0, Limit: amps}}}
	if powerOnly {
		phases := s.cfg.Phases
		sched.ChargingRateUnit = "W"
		sched.ChargingSchedulePeriod[0].Limit = amps * s.cfg.Voltage * float64(phases)
		sched.ChargingSchedulePeriod[0].NumberPhases = &phases
	}
	p := ChargingProfile{ChargingProfileID: defaultProfileID(n), ChargingProfilePurpose: "TxDefaultProfile",
		ChargingProfileKind: "Relative", ChargingSchedule: sched}
	if t, ok := s.tx.active(cpID, n); ok {
		id := t.ID
		p.ChargingProfileID, p.ChargingProfilePurpose, p.TransactionID = txProfileID(n), "TxProfile", &id
	}
	return s.SetChargingProfile(ctx, cpID, n, p)
}

// SetChargingProfile sends a charging profile to connector n (0: the whole
// charge point).
func (s *Server) SetChargingProfile(ctx context.Context, cpID string, n int, p ChargingProfile) error {
	return s.accepted(ctx, cpID, "SetChargingProfile", setProfileReq{ConnectorID: n, CsChargingProfiles: p}, "Accepted")
}

// ClearChargingProfile clears profiles by id (0: any) on connector n (-1: any).
func (s *Server) ClearChargingProfile(ctx context.Context, cpID string, id, n int) error {
	req := map[string]any{}
	if id > 0 {
		req["id"] = id
	}
	if n >= 0 {
		req["connectorId"] = n
	}
	return s.accepted(ctx, cpID, "ClearChargingProfile", req, "Accepted", "Unknown")
}

// SetAvailable sends ChangeAvailability Operative (on) or Inoperative.
func (s *Server) SetAvailable(ctx context.Context, cpID string, n int, on bool) error {
	typ := "Inoperative"
	if on {
		typ = "Operative"
	}
	return s.accepted(ctx, cpID, "ChangeAvailability", map[string]any{"connectorId": n, "type": typ}, "Accepted", "Scheduled")
}

// RemoteStart asks the charge point to start a transaction for idTag on
// connector n (0: the charge point picks).
func (s *Server) RemoteStart(ctx context.Context, cpID, idTag string, n int) error {
	req := map[string]any{"idTag": idTag}
	if n > 0 {
		req["connectorId"] = n
	}
	return s.accepted(ctx, cpID, "RemoteStartTransaction", req, "Accepted")
}

// RemoteStop asks the charge point to stop transaction txID.
func (s *Server) RemoteStop(ctx context.Context, cpID string, txID int) error {
	return s.accepted(ctx, cpID, "RemoteStopTransaction", map[string]any{"transactionId": txID}, "Accepted")
}

// TriggerMessage asks for a message (BootNotification, Heartbeat,
// MeterValues, StatusNotification, …) of connector n (0: none given).
func (s *Server) TriggerMessage(ctx context.Context, cpID, message string, n int) error {
	req := map[string]any{"requestedMessage": message}
	if n > 0 {
		req["connectorId"] = n
	}
	return s.accepted(ctx, cpID, "TriggerMessage", req, "Accepted")
}

// ChangeConfiguration sets a configuration key; RebootRequired counts as done.
func (s *Server) ChangeConfiguration(ctx context.Context, cpID, key, value string) error {
	return s.accepted(ctx, cpID, "ChangeConfiguration", map[string]any{"key": key, "value": value}, "Accepted", "RebootRequired")
}

// GetConfiguration reads configuration keys (none: every key).
func (s *Server) GetConfiguration(ctx context.Context, cpID string, keys ...string) ([]KeyValue, error) {
	var conf getConfigConf
	if err := s.Call(ctx, cpID, "GetConfiguration", getConfigReq{Key: keys}, &conf); err != nil {
		return nil, err
	}
	return conf.ConfigurationKey, nil
}

// getConfiguration is GetConfiguration on a given connection.
func (s *Server) getConfiguration(ctx context.Context, c *conn, keys []string) ([]KeyValue, error) {
	var conf getConfigConf
	if err := s.callOn(ctx, c, "GetConfiguration", getConfigReq{Key: keys}, &conf); err != nil {
		return nil, err
	}
	return conf.ConfigurationKey, nil
}

// Reset asks for a Soft or Hard reset.
func (s *Server) Reset(ctx context.Context, cpID, typ string) error {
	return s.accepted(ctx, cpID, "Reset", map[string]any{"type": typ}, "Accepted")
}

// UnlockConnector asks the charge point to unlock connector n.
func (s *Server) UnlockConnector(ctx context.Context, cpID string, n int) error {
	return s.accepted(ctx, cpID, "UnlockConnector", map[string]any{"connectorId": n}, "Unlocked")
}
