package sunspec

import (
	"strings"
	"unicode"

	"github.com/gridbox/gridbox/model"
)

// commonNames returns gridbox's names for SunSpec points whose meaning is
// one of the SPEC's datapoint names, the same in every model family.
func commonNames() namer {
	return namer{
		"Mn": "manufacturer", "Md": "model", "Opt": "options", "Vr": "version", "SN": "serial_number", "DA": "device_address",
		"W": "ac_power", "VA": "apparent_power", "VAr": "reactive_power", "VAR": "reactive_power", "Var": "reactive_power",
		"PF": "power_factor", "Hz": "frequency", "A": "current",
		"AphA": "current_l1", "AphB": "current_l2", "AphC": "current_l3", "AL1": "current_l1", "AL2": "current_l2", "AL3": "current_l3",
		"PhVphA": "voltage_l1", "PhVphB": "voltage_l2", "PhVphC": "voltage_l3", "VL1": "voltage_l1", "VL2": "voltage_l2", "VL3": "voltage_l3",
		"PPVphAB": "voltage_l1_l2", "PPVphBC": "voltage_l2_l3", "PPVphCA": "voltage_l3_l1",
		"PhVphAB": "voltage_l1_l2", "PhVphBC": "voltage_l2_l3", "PhVphCA": "voltage_l3_l1",
		"VL1L2": "voltage_l1_l2", "VL2L3": "voltage_l2_l3", "VL3L1": "voltage_l3_l1",
		"PhV": "voltage", "LNV": "voltage", "PPV": "voltage_ll", "LLV": "voltage_ll",
		"PFL1": "power_factor_l1", "PFL2": "power_factor_l2", "PFL3": "power_factor_l3",
		"VAL1": "apparent_power_l1", "VAL2": "apparent_power_l2", "VAL3": "apparent_power_l3",
		"VarL1": "reactive_power_l1", "VarL2": "reactive_power_l2", "VarL3": "reactive_power_l3",
		"WphA": "ac_power_l1", "WphB": "ac_power_l2", "WphC": "ac_power_l3", "WL1": "ac_power_l1", "WL2": "ac_power_l2", "WL3": "ac_power_l3",
		"WH": "energy_total", "TotWhInj": "energy_total", "TotWhImp": "energy_import", "TotWhExp": "energy_export",
		"DCA": "dc_current", "DCV": "dc_voltage", "DCW": "dc_power", "DCWH": "energy_total",
		"TmpCab": "temperature", "Tmp": "temperature",
		"St": "status", "DCSt": "status", "Sta": "status", "State": "status",
		"SoC": "soc", "ChaState": "soc", "SoH": "soh",
	}
}

// namer maps SunSpec point names to datapoint names.
type namer map[string]string

// pointName is gridbox's name of a point of model id, without a prefix:
// the SPEC's name where the meaning is one of them, else the SunSpec name
// in snake_case (WMaxLimPct → w_max_lim_pct, PFWInj.PF → pfw_inj_pf).
func (nm namer) pointName(id uint16, name string) string {
	if id == 802 { // the battery model's names where they differ
		switch name {
		case "W":
			return "power"
		case "V":
			return "voltage"
		case "A":
			return "current"
		}
	}
	if n, ok := nm[name]; ok {
		return n
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = snake(p)
	}
	return strings.Join(parts, "_")
}

// snake turns a SunSpec name into snake_case: a word starts at an upper
// case letter after a lower case letter or digit, and at the last upper
// case letter of a run followed by a lower case one (PFWInj → pfw_inj).
func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if c == '_' {
			b.WriteByte('_')
			continue
		}
		if i > 0 && unicode.IsUpper(c) && r[i-1] != '_' {
			prev := r[i-1]
			next := i+1 < len(r) && unicode.IsLower(r[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && next) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// unitOf maps SunSpec units to gridbox's SI-style units.
func unitOf(u string) string {
	switch u {
	case "VAr", "Var", "var":
		return "var"
	case "VArh", "Varh", "varh":
		return "varh"
	case "C":
		return "°C"
	case "Pct", "%", "% WMax", "% VArMax", "% VArAval", "% WChaMax", "% WDisChaMax", "%WHRtg":
		return "%"
	case "WH", "Wh":
		return "Wh"
	case "Secs":
		return "s"
	case "cos()", "":
		return ""
	}
	if strings.HasPrefix(u, "%") || strings.HasPrefix(u, " %") {
		return "%"
	}
	return u
}

// formatOf is the value format of a point type.
func formatOf(t Type) model.Format {
	switch t {
	case String:
		return model.GenericText
	case Enum16, Enum32:
		return model.DiscreteNumeric
	case Bitfield16, Bitfield32, Count:
		return model.GenericNumeric
	}
	return model.ContinuousNumeric
}

// role returns the role of a point of model id in family f, "" for none:
// inverter AC power pv_power, meter total power grid_power, storage power
// battery_power (802 W, negated so that charging is positive) and state of
// charge battery_soc.
func role(id uint16, f Family, name string) string {
	switch {
	case name == "W" && f == Inverter && (id < 120 || id == 701):
		return "pv_power"
	case name == "W" && f == Meter:
		return "grid_power"
	case name == "W" && id == 802:
		return "battery_power"
	case (name == "ChaState" && id == 124) || (name == "SoC" && (id == 713 || id == 802)):
		return "battery_soc"
	}
	return ""
}
