package victron

import (
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/bus"
)

// roleDefault is where a datapoint of a role goes by default: the service,
// the instance of its first device (later devices count up) and the path.
type roleDefault struct {
	service  string
	instance int
	rest     string
}

// roleDefaults maps the roles of docs/profiles.md to Victron paths.
var roleDefaults = map[string]roleDefault{
	"grid_power":    {"grid", 30, "Ac/Power"},
	"pv_power":      {"pvinverter", 20, "Ac/Power"},
	"battery_soc":   {"battery", 512, "Soc"},
	"battery_power": {"battery", 512, "Dc/0/Power"},
	"ev_power":      {"evcharger", 40, "Ac/Power"},
}

// System paths: the summary a GX computes in its system service.
const (
	sysGrid        = "system/0/Ac/Grid/L1/Power"
	sysPV          = "system/0/Ac/PvOnGrid/L1/Power"
	sysConsumption = "system/0/Ac/Consumption/L1/Power"
	sysSoc         = "system/0/Dc/Battery/Soc"
	sysBattery     = "system/0/Dc/Battery/Power"
	serialPath     = "system/0/Serial"
)

// point is one published path.
type point struct {
	key    string // "device/name" of the datapoint; empty for constants and summaries
	device string // whose disappearance clears the path; empty for the system service
	role   string
	value  any // for constants (ProductName, DeviceInstance)
}

// table is the current map from paths to what they publish.
type table struct {
	paths  map[string]point    // "service/instance/path" → point
	byKey  map[string][]string // "device/name" → paths (for value updates)
	byRole map[string][]string // role → datapoint keys (for the system summary)
}

// build maps the catalog to paths: the configured mapping first, else the
// role's default; each device on a service gets the next instance.
func build(points []bus.Point, mapping map[string]string) table {
	t := table{paths: map[string]point{}, byKey: map[string][]string{}, byRole: map[string][]string{}}
	inst := map[string]int{}     // device\x00service → instance
	nextInst := map[string]int{} // service → next free instance
	add := func(p string, pt point) {
		t.paths[p] = pt
		if pt.key != "" {
			t.byKey[pt.key] = append(t.byKey[pt.key], p)
		}
	}
	for _, bp := range points {
		dp := bp.Datapoint
		key := dp.Key()
		if dp.Role != "" {
			t.byRole[dp.Role] = append(t.byRole[dp.Role], key)
		}
		if m, ok := mapping[key]; ok {
			if m == "-" {
				continue
			}
			p, _ := parsePath(m) // validated with the config
			add(p.String(), point{key: key, device: dp.Device, role: dp.Role})
			continue
		}
		def, ok := roleDefaults[dp.Role]
		if !ok {
			continue
		}
		ik := dp.Device + "\x00" + def.service
		n, seen := inst[ik]
		if !seen {
			n = max(def.instance, nextInst[def.service])
			inst[ik], nextInst[def.service] = n, n+1
		}
		p := path{service: def.service, instance: n, rest: def.rest}
		add(p.String(), point{key: key, device: dp.Device, role: dp.Role})
		base := def.service + "/" + itoa(n) + "/"
		add(base+"ProductName", point{device: dp.Device, value: dp.Device})
		add(base+"DeviceInstance", point{device: dp.Device, value: float64(n)})
		add(base+"Connected", point{device: dp.Device, role: "connected"})
	}
	for _, p := range []string{sysGrid, sysPV, sysConsumption, sysSoc, sysBattery} {
		t.paths[p] = point{role: "system"}
	}
	return t
}

func itoa(n int) string { return strconv.Itoa(n) }

// masked reports whether a path carries a password (never published in clear).
func masked(p string) bool { return strings.Contains(strings.ToLower(p), "password") }

// summary computes the system service from the last values by role:
// sums of grid, PV and battery power, the first SoC, and consumption =
// grid + PV − battery (charging positive). nil when an input is missing.
func summary(t table, last func(key string) (float64, bool)) map[string]any {
	sum := func(role string) any {
		keys := t.byRole[role]
		if len(keys) == 0 {
			return nil
		}
		var s float64
		for _, k := range keys {
			v, ok := last(k)
			if !ok {
				return nil
			}
			s += v
		}
		return s
	}
	out := map[string]any{sysGrid: sum("grid_power"), sysPV: sum("pv_power"), sysBattery: sum("battery_power"), sysSoc: nil}
	if keys := t.byRole["battery_soc"]; len(keys) > 0 {
		if v, ok := last(keys[0]); ok {
			out[sysSoc] = v
		}
	}
	g, gok := out[sysGrid].(float64)
	pv, pok := out[sysPV].(float64)
	bat, _ := out[sysBattery].(float64) // no battery: 0
	if len(t.byRole["battery_power"]) > 0 && out[sysBattery] == nil {
		gok = false
	}
	out[sysConsumption] = nil
	if gok && (pok || len(t.byRole["pv_power"]) == 0) {
		out[sysConsumption] = g + pv - bat
	}
	return out
}
