package ocpp

import (
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// Measurands gridbox maps to datapoints.
const (
	energyImport = "Energy.Active.Import.Register" // the default measurand
	powerImport  = "Power.Active.Import"
	currentIn    = "Current.Import"
	voltage      = "Voltage"
	soc          = "SoC"
)

// sampled turns MeterValues of connector n into values. Each sampled value
// is read with its measurand, phase and unit (kW, kWh, kvar, kvarh are
// scaled to W, Wh, var, varh); context and location do not change the
// mapping. Values that cannot be read are skipped and counted; measurands
// without a datapoint are ignored.
func (s *Server) sampled(cp *chargePoint, n int, mvs []meterValue) []model.Value {
	dev := connectorID(cp.slug, n)
	var meterStart *int
	if t, ok := s.tx.active(cp.id, n); ok {
		meterStart = &t.MeterStart
	}
	var out []model.Value
	for _, mv := range mvs {
		at := parseTime(mv.Timestamp).UnixMilli()
		add := func(name string, v float64) {
			out = append(out, model.Value{Device: dev, Name: name, Value: v, Time: at, Quality: model.Good})
		}
		var phasePower float64
		var phases, total bool
		for _, sv := range mv.SampledValue {
			v, ok := s.readValue(cp, sv)
			if !ok {
				continue
			}
			m := sv.Measurand
			if m == "" {
				m = energyImport
			}
			switch name := mapSample(m, sv.Phase); {
			case name == "" && m == powerImport:
				phasePower, phases = phasePower+v, true
			case name == "":
			default:
				total = total || name == "ac_power"
				add(name, v)
				if name == "energy_total" && meterStart != nil {
					add("session_energy", v-float64(*meterStart))
				}
			}
		}
		if phases && !total {
			add("ac_power", phasePower)
		}
	}
	return out
}

// readValue parses a sampled value in the base unit; false if it cannot be read.
func (s *Server) readValue(cp *chargePoint, sv sampledValue) (float64, bool) {
	if sv.Format == "SignedData" {
		s.m.badValues.Inc()
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(sv.Value), 64)
	if err != nil {
		s.m.badValues.Inc()
		s.log.Debug("sampled value skipped", "charge_point", cp.id, "value", shorten(sv.Value), "error", err)
		return 0, false
	}
	switch sv.Unit {
	case "kW", "kWh", "kvar", "kvarh":
		v *= 1000
	}
	return v, true
}

// mapSample names the datapoint of a measurand and phase; "" if none. A
// per-phase Power.Active.Import is summed into ac_power by the caller when
// no total is sent.
func mapSample(measurand, phase string) string {
	l := strings.TrimSuffix(phase, "-N")
	switch measurand {
	case energyImport:
		if phase == "" {
			return "energy_total"
		}
	case powerImport:
		if phase == "" {
			return "ac_power"
		}
	case currentIn:
		switch l {
		case "", "L1":
			return "current_l1"
		case "L2", "L3":
			return "current_l" + l[1:]
		}
	case voltage:
		switch l {
		case "", "L1":
			return "voltage_l1"
		case "L2", "L3":
			return "voltage_l" + l[1:]
		}
	case soc:
		return "soc"
	}
	return ""
}
