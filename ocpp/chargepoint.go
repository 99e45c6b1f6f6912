package ocpp

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/gridbox/gridbox/model"
)

// DriverName is the driver shown in the devices' states.
const DriverName = "ocpp"

// chargePoint is what gridbox keeps of a charge point across connections.
type chargePoint struct {
	id, slug string

	mu         sync.Mutex
	conn       *conn
	added      bool         // device <slug> is on the bus
	connectors map[int]bool // devices <slug>_<n> on the bus
	powerOnly  bool         // ChargingScheduleAllowedChargingRateUnit is Power only
}

// chargePoint returns the state of charge point id, made on first use.
func (s *Server) chargePoint(id string) *chargePoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp, ok := s.cps[id]
	if !ok {
		cp = &chargePoint{id: id, slug: Slug(id), connectors: map[int]bool{}}
		s.cps[id] = cp
	}
	return cp
}

// attach makes c the charge point's connection and returns the one it replaces.
func (cp *chargePoint) attach(c *conn) *conn {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	old := cp.conn
	cp.conn = c
	return old
}

// detach forgets c unless it was already replaced; true if it was current.
func (cp *chargePoint) detach(c *conn) bool {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.conn != c {
		return false
	}
	cp.conn = nil
	return true
}

// current returns the charge point's connection, nil when offline.
func (cp *chargePoint) current() *conn {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.conn
}

// devices lists the charge point's device ids on the bus.
func (cp *chargePoint) devices() []string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if !cp.added {
		return nil
	}
	out := []string{cp.slug}
	for n := range cp.connectors {
		out = append(out, connectorID(cp.slug, n))
	}
	return out
}

func connectorID(slug string, n int) string { return slug + "_" + strconv.Itoa(n) }

// online sets the state of every device of the charge point.
func (s *Server) online(cp *chargePoint, on bool, reason string) {
	now := model.NowMs()
	for _, d := range cp.devices() {
		st := model.DeviceState{Device: d, Online: on, Error: reason}
		if on {
			st.LastSeen = now
		}
		s.bus.SetState(st, 0, 0)
		if !on {
			s.bus.MarkStale(d, now)
		}
	}
}

// ensureDevice puts the charge point's device on the bus (at its first
// BootNotification, or its first message after a restart of gridbox).
func (s *Server) ensureDevice(cp *chargePoint) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.added {
		return nil
	}
	st := model.DeviceState{Device: cp.slug, Driver: DriverName, Online: true, LastSeen: model.NowMs()}
	if err := s.bus.AddDevice(st, chargePointPoints(), nil, 0); err != nil {
		return fmt.Errorf("add device %s: %w", cp.slug, err)
	}
	cp.added = true
	return nil
}

// MaxConnectors bounds the connector ids a charge point may name, so a
// faulty one cannot fill the catalog with devices.
const MaxConnectors = 64

// errConnector is the error for a connector id above MaxConnectors.
var errConnector = fmt.Errorf("connectorId above %d", MaxConnectors)

// ensureConnector puts connector n ≥ 1 on the bus.
func (s *Server) ensureConnector(cp *chargePoint, n int) error {
	if n > MaxConnectors {
		return errConnector
	}
	if err := s.ensureDevice(cp); err != nil {
		return err
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.connectors[n] {
		return nil
	}
	id := connectorID(cp.slug, n)
	st := model.DeviceState{Device: id, Driver: DriverName, Online: true, LastSeen: model.NowMs()}
	if err := s.bus.AddDevice(st, connectorPoints(s.cfg.MaxCurrent), &connectorWriter{s: s, cp: cp, n: n}, 0); err != nil {
		return fmt.Errorf("add device %s: %w", id, err)
	}
	cp.connectors[n] = true
	return nil
}

func text(name, desc string) model.Datapoint {
	return model.Datapoint{Name: name, Meta: model.Meta{Kind: model.Sensor, Format: model.GenericText, Description: desc}}
}

func number(name, unit, desc string) model.Datapoint {
	return model.Datapoint{Name: name, Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: unit, Description: desc}}
}

func chargePointPoints() []model.Datapoint {
	st := text("status", "status of the charge point (StatusNotification of connector 0)")
	st.Format = model.DiscreteText
	return []model.Datapoint{
		text("vendor", "chargePointVendor of the BootNotification"),
		text("model", "chargePointModel of the BootNotification"),
		text("firmware", "firmwareVersion of the BootNotification"),
		text("serial", "chargePointSerialNumber (or chargeBoxSerialNumber) of the BootNotification"),
		st,
	}
}

func connectorPoints(maxCurrent float64) []model.Datapoint {
	st := text("status", "OCPP connector status (Available, Preparing, Charging, …)")
	st.Format = model.DiscreteText
	power := number("ac_power", "W", "active power import")
	power.Role = "ev_power"
	tx := number("transaction_id", "", "id of the running transaction; null when none")
	tx.Format = model.DiscreteNumeric
	zero := 0.0
	maxCur := model.Datapoint{Name: "max_current", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "A",
		Min: &zero, Max: &maxCurrent, Description: "charging current limit; sent as a charging profile (SetChargingProfile)"}}
	enabled := model.Datapoint{Name: "enabled", Meta: model.Meta{Kind: model.Actuator, Format: model.Bool,
		Description: "connector availability (ChangeAvailability Operative/Inoperative)"}}
	idTag := model.Datapoint{Name: "id_tag", Meta: model.Meta{Kind: model.Actuator, Format: model.GenericText,
		Description: "write an id tag (RFID) to start a transaction for it on this connector (RemoteStartTransaction)"}}
	pts := []model.Datapoint{st, power,
		number("energy_total", "Wh", "meter register, Energy.Active.Import.Register"),
		number("soc", "%", "state of charge of the vehicle"),
		number("session_energy", "Wh", "energy of the running transaction"),
		tx, maxCur, enabled, idTag,
	}
	for i := 1; i <= 3; i++ {
		pts = append(pts, number(fmt.Sprintf("current_l%d", i), "A", fmt.Sprintf("current of phase L%d", i)),
			number(fmt.Sprintf("voltage_l%d", i), "V", fmt.Sprintf("voltage of phase L%d to neutral", i)))
	}
	return pts
}

// connectorWriter carries writes of a connector's actuators to the charge point.
type connectorWriter struct {
	s  *Server
	cp *chargePoint
	n  int
}

// Write implements bus.Writer: max_current becomes a charging profile,
// enabled a ChangeAvailability, id_tag a RemoteStartTransaction.
func (w *connectorWriter) Write(ctx context.Context, name string, v any) (any, error) {
	switch name {
	case "max_current":
		a, ok := v.(float64)
		if !ok {
			return nil, fmt.Errorf("max_current: want a number, got %T", v)
		}
		return a, w.s.SetCurrentLimit(ctx, w.cp.id, w.n, a)
	case "enabled":
		on, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("enabled: want a bool, got %T", v)
		}
		return on, w.s.SetAvailable(ctx, w.cp.id, w.n, on)
	case "id_tag":
		tag, ok := v.(string)
		if !ok || tag == "" || len(tag) > 20 {
			return nil, fmt.Errorf("id_tag: want an id tag of 1 to 20 characters (OCPP IdToken), got %v", model.Short(v))
		}
		return tag, w.s.RemoteStart(ctx, w.cp.id, tag, w.n)
	}
	return nil, fmt.Errorf("%s is not writable", name)
}
