package cfos

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/gridbox/gridbox/model"
)

// session is a charger's plug-in period, owned by Run.
type session struct {
	start       time.Time
	meterStart  float64
	hasStart    bool
	meterEnd    float64
	hasEnd      bool
	energy      float64 // session_energy (OCPP), when the charger reports it
	hasEnergy   bool
	transaction any
}

// Transaction is one ta_log message: a charging session from plug-in to unplug.
type Transaction struct {
	DevID       string   `json:"dev_id"`
	Device      string   `json:"device"`
	Start       string   `json:"start"` // RFC 3339
	End         string   `json:"end"`
	DurationS   float64  `json:"duration_s"`
	EnergyWh    float64  `json:"energy_wh"`
	MeterStart  *float64 `json:"meter_start_wh,omitempty"`
	MeterEnd    *float64 `json:"meter_end_wh,omitempty"`
	Transaction any      `json:"transaction_id,omitempty"` // OCPP transaction id, when there was one
}

// plugged tells from a charger status whether a vehicle is plugged in
// (wallbox profiles: connected/charging; OCPP: Preparing … Finishing).
func plugged(status any) bool {
	s, _ := status.(string)
	switch strings.ToLower(s) {
	case "", "available", "unavailable", "faulted", "reserved":
		return false
	}
	return true
}

// session follows a charger's status and meter; unplugging publishes the
// session on ta_log.
func (d *Dialect) session(ctx context.Context, v model.Value) {
	if !d.isCharger(v.Device) || v.Quality != model.Good {
		return
	}
	s := d.sessions[v.Device]
	switch v.Name {
	case "status":
		on := plugged(v.Value)
		switch {
		case on && s == nil:
			s = &session{start: time.UnixMilli(v.Time)}
			s.meterStart, s.hasStart = d.num(v.Device, "energy_total")
			d.sessions[v.Device] = s
			d.logLine(slogInfo, "vehicle plugged in", "dev_id", d.ids.wallbox(v.Device), "device", v.Device)
		case !on && s != nil:
			delete(d.sessions, v.Device)
			d.endSession(ctx, v.Device, s, time.UnixMilli(v.Time))
		}
	case "energy_total":
		if f, ok := model.AsFloat(v.Value); ok && s != nil {
			if !s.hasStart {
				s.meterStart, s.hasStart = f, true
			}
			s.meterEnd, s.hasEnd = f, true
		}
	case "transaction_id":
		if s != nil && v.Value != nil {
			s.transaction = v.Value
		}
	case "session_energy":
		if f, ok := model.AsFloat(v.Value); ok && s != nil {
			s.energy, s.hasEnergy = f, true
		}
	}
}

func (d *Dialect) endSession(ctx context.Context, dev string, s *session, end time.Time) {
	t := Transaction{DevID: d.ids.wallbox(dev), Device: dev, Start: s.start.UTC().Format(time.RFC3339),
		End: end.UTC().Format(time.RFC3339), DurationS: end.Sub(s.start).Seconds(), Transaction: s.transaction}
	if s.hasStart {
		t.MeterStart = &s.meterStart
	}
	if s.hasEnd {
		t.MeterEnd = &s.meterEnd
	}
	switch {
	case s.hasEnergy:
		t.EnergyWh = s.energy
	case s.hasStart && s.hasEnd:
		t.EnergyWh = s.meterEnd - s.meterStart
	}
	b, err := json.Marshal(t)
	if err != nil {
		return
	}
	d.send(ctx, d.root+"/ta_log", b, false)
	d.count("transaction")
	d.logLine(slogInfo, "vehicle unplugged", "dev_id", t.DevID, "device", dev, "energy_wh", t.EnergyWh)
}

// isCharger reports whether dev is a mapped wallbox or a managed charger.
func (d *Dialect) isCharger(dev string) bool {
	if _, ok := d.ids.devToWb[dev]; ok {
		return true
	}
	_, _, _, ok := d.bus.Datapoint(lm, dev+"_allocated_current")
	return ok
}

// initSessions starts a session for every charger plugged in when the
// dialect starts (its start is then the dialect's start).
func (d *Dialect) initSessions(ctx context.Context) {
	for _, dev := range d.chargers() {
		if _, v, has, _ := d.bus.Datapoint(dev, "status"); has {
			v.Time = model.NowMs()
			d.session(ctx, v)
		}
	}
}
