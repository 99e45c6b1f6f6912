package ocpp

import (
	"github.com/gridbox/gridbox/model"
)

func handleStart(c *conn, payload []byte) (any, *callError) {
	var req startReq
	if e := decode(payload, &req); e != nil {
		return nil, e
	}
	s, cp := c.s, c.cp
	if req.ConnectorID < 1 {
		return nil, &callError{PropertyConstraintViolation, "connectorId of a transaction must be 1 or more"}
	}
	if err := s.ensureConnector(cp, req.ConnectorID); err != nil {
		return nil, internal(err)
	}
	s.seen(cp)
	status := s.tagStatus(req.IDTag)
	// A transaction is stored even when its id tag is refused: the charge
	// point has begun it and will stop it (OCPP 1.6 §5.18).
	t, err := s.tx.start(Transaction{ChargePoint: cp.id, Connector: req.ConnectorID, IDTag: req.IDTag,
		Start: parseTime(req.Timestamp).UTC(), MeterStart: req.MeterStart})
	if err != nil {
		return nil, internal(err)
	}
	dev := connectorID(cp.slug, req.ConnectorID)
	now := model.NowMs()
	s.bus.Publish(
		model.Value{Device: dev, Name: "transaction_id", Value: float64(t.ID), Time: now, Quality: model.Good},
		model.Value{Device: dev, Name: "session_energy", Value: 0.0, Time: now, Quality: model.Good},
		model.Value{Device: dev, Name: "energy_total", Value: float64(req.MeterStart), Time: now, Quality: model.Good},
	)
	s.log.Info("transaction started", "charge_point", cp.id, "connector", req.ConnectorID, "transaction", t.ID)
	return startConf{IDTagInfo: idTagInfo{Status: status}, TransactionID: t.ID}, nil
}

func handleStop(c *conn, payload []byte) (any, *callError) {
	var req stopReq
	if e := decode(payload, &req); e != nil {
		return nil, e
	}
	s, cp := c.s, c.cp
	s.seen(cp)
	conf := stopConf{}
	if req.IDTag != "" {
		conf.IDTagInfo = &idTagInfo{Status: s.tagStatus(req.IDTag)}
	}
	prev, known := s.tx.get(req.TransactionID)
	if !known || prev.ChargePoint != cp.id {
		// Acknowledged (the charge point would retry it forever) but not stored.
		s.log.Warn("StopTransaction for an unknown transaction", "charge_point", cp.id, "transaction", req.TransactionID)
		return conf, nil
	}
	if len(req.TransactionData) > 0 {
		if err := s.ensureConnector(cp, prev.Connector); err == nil {
			s.bus.Publish(s.sampled(cp, prev.Connector, req.TransactionData)...)
		}
	}
	reason := req.Reason
	if reason == "" {
		reason = "Local" // the default the specification gives
	}
	t, _, err := s.tx.stop(req.TransactionID, parseTime(req.Timestamp).UTC(), req.MeterStop, reason)
	if err != nil {
		return nil, internal(err)
	}
	if err := s.ensureConnector(cp, t.Connector); err != nil {
		return nil, internal(err)
	}
	dev := connectorID(cp.slug, t.Connector)
	now := model.NowMs()
	s.bus.Publish(
		model.Value{Device: dev, Name: "transaction_id", Value: nil, Time: now, Quality: model.Good},
		model.Value{Device: dev, Name: "session_energy", Value: float64(*t.Energy), Time: now, Quality: model.Good},
		model.Value{Device: dev, Name: "energy_total", Value: float64(req.MeterStop), Time: now, Quality: model.Good},
	)
	s.log.Info("transaction stopped", "charge_point", cp.id, "connector", t.Connector, "transaction", t.ID, "energy_wh", *t.Energy, "reason", reason)
	return conf, nil
}

func handleMeterValues(c *conn, payload []byte) (any, *callError) {
	var req meterValuesReq
	if e := decode(payload, &req); e != nil {
		return nil, e
	}
	s, cp := c.s, c.cp
	s.seen(cp)
	if req.ConnectorID < 1 { // the main meter of the charge point: not mapped
		return empty{}, nil
	}
	if err := s.ensureConnector(cp, req.ConnectorID); err != nil {
		return nil, internal(err)
	}
	s.bus.Publish(s.sampled(cp, req.ConnectorID, req.MeterValue)...)
	return empty{}, nil
}
