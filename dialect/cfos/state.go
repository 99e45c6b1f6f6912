package cfos

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/control/loadmanagement"
	"github.com/gridbox/gridbox/model"
)

const lm = loadmanagement.DeviceID

// chargers lists the charger devices: the mapped wallboxes and the
// chargers load management manages.
func (d *Dialect) chargers() []string {
	set := map[string]bool{}
	for dev := range d.ids.devToWb {
		set[dev] = true
	}
	for _, p := range d.bus.Datapoints() {
		if p.Device == lm && strings.HasSuffix(p.Name, "_allocated_current") {
			set[strings.TrimSuffix(p.Name, "_allocated_current")] = true
		}
	}
	out := make([]string, 0, len(set))
	for dev := range set {
		out = append(out, dev)
	}
	sort.Strings(out)
	return out
}

// managed reports whether load management manages charger dev.
func (d *Dialect) managed(dev string) bool {
	_, _, _, ok := d.bus.Datapoint(lm, dev+"_current_limit")
	return ok
}

// num is the good numeric value of device/name.
func (d *Dialect) num(device, name string) (float64, bool) {
	_, v, has, _ := d.bus.Datapoint(device, name)
	if !has || v.Quality != model.Good {
		return 0, false
	}
	return model.AsFloat(v.Value)
}

// milli is A (or any unit) × 1000, whole.
func milli(a float64) float64 { return math.Round(a * 1000) }

// phaseList reads name_l1..3 of a device, × scale; false when none is good.
func (d *Dialect) phaseList(dev, name string, scale float64) ([]float64, bool) {
	out := make([]float64, 3)
	any := false
	for p := range 3 {
		if v, ok := d.num(dev, name+"_l"+string(rune('1'+p))); ok {
			out[p], any = math.Round(v*scale*1000)/1000, true
		}
	}
	return out, any
}

// chargerInfo is the get/<id> object of a charger (docs/dialect-cfos.md).
func (d *Dialect) chargerInfo(dev string) map[string]any {
	st, _ := d.bus.Device(dev)
	m := map[string]any{"dev_id": d.ids.wallbox(dev), "device": dev, "is_evse": true, "online": st.Online}
	if _, v, has, _ := d.bus.Datapoint(dev, "status"); has && v.Quality == model.Good {
		m["state"] = v.Value
	}
	if _, v, has, _ := d.bus.Datapoint(dev, "enabled"); has && v.Quality == model.Good {
		m["enabled"] = v.Value
	}
	cur, curName := dev, "max_current"
	if d.managed(dev) {
		cur, curName = lm, dev+"_allocated_current"
		if v, ok := d.num(lm, dev+"_current_limit"); ok {
			m["cur_limit"] = milli(v)
		}
		if _, v, has, _ := d.bus.Datapoint(lm, dev+"_reason"); has {
			m["reason"] = v.Value
		}
	}
	if v, ok := d.num(cur, curName); ok {
		m["charging_cur"] = milli(v)
	}
	maxDev, maxName := dev, "max_current"
	if d.managed(dev) {
		maxDev, maxName = lm, dev+"_current_limit" // its upper limit is load management's max_current of the charger
	}
	if meta, _, _, ok := d.bus.Datapoint(maxDev, maxName); ok && meta.Max != nil {
		m["max_cur"] = milli(*meta.Max)
	}
	if v, ok := d.num(dev, "phases"); ok {
		m["phases"] = v
	}
	if v, ok := d.num(dev, "ac_power"); ok {
		m["power_w"] = v
	}
	if l, ok := d.phaseList(dev, "current", 1000); ok {
		m["current"] = l
	}
	if v, ok := d.num(dev, "energy_total"); ok {
		m["total_energy"] = v
	}
	return m
}

// meterInfo is the get/<id> object of a meter input device.
func (d *Dialect) meterInfo(mt *meter) map[string]any {
	st, _ := d.bus.Device(mt.dev)
	m := map[string]any{"dev_id": mt.id, "device": mt.dev, "is_evse": false, "online": st.Online}
	if _, v, has, _ := d.bus.Datapoint(mt.dev, "model"); has && v.Quality == model.Good {
		m["model"] = v.Value
	}
	for name, key := range map[string]string{"ac_power": "power_w", "energy_import": "import_wh", "energy_export": "export_wh"} {
		if v, ok := d.num(mt.dev, name); ok {
			m[key] = v
		}
	}
	if l, ok := d.phaseList(mt.dev, "voltage", 1); ok {
		m["voltage"] = l
	}
	if l, ok := d.phaseList(mt.dev, "current", 1000); ok {
		m["current"] = l
	}
	return m
}

// params is the get/params object: what load management knows globally.
func (d *Dialect) params(chargers []string) map[string]any {
	_, _, _, has := d.bus.Datapoint(lm, "max_total_cur_prc")
	m := map[string]any{"load_management": has, "chargers": len(chargers), "meters": len(d.meters)}
	prc, okPrc := d.num(lm, "max_total_cur_prc")
	if okPrc {
		m["max_total_cur_prc"] = prc
	}
	if site, ok := d.num(lm, "site_max_current"); ok {
		m["max_total_current"] = milli(site)
		if okPrc {
			m["total_current_limit"] = milli(site * prc / 100)
		}
	}
	if _, v, has, _ := d.bus.Datapoint(lm, "mode"); has {
		m["mode"] = v.Value
	}
	sum := 0.0
	for _, dev := range chargers {
		if v, ok := d.num(lm, dev+"_allocated_current"); ok {
			sum += v
		}
	}
	if has {
		m["allocated_current"] = milli(sum)
	}
	return m
}

// publishState publishes get/dev_info, get/params and get/<id> where they
// changed (retained), and clears get/<id> of devices that went away.
func (d *Dialect) publishState(ctx context.Context) {
	chargers := d.chargers()
	out := map[string]any{}
	devices := make([]map[string]any, 0, len(chargers)+len(d.meters))
	for _, dev := range chargers {
		info := d.chargerInfo(dev)
		devices = append(devices, info)
		out["get/"+d.ids.wallbox(dev)] = info
	}
	for _, dev := range sortedMeters(d.meters) {
		info := d.meterInfo(d.meters[dev])
		devices = append(devices, info)
		out["get/"+d.meters[dev].id] = info
	}
	p := d.params(chargers)
	out["get/params"] = p
	out["get/dev_info"] = map[string]any{"params": p, "devices": devices}
	for topic, v := range out {
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		if old, ok := d.published[topic]; ok && string(old) == string(b) {
			continue
		}
		d.published[topic] = b
		d.send(ctx, d.root+"/"+topic, b, true)
	}
	for topic := range d.published {
		if _, still := out[topic]; !still {
			delete(d.published, topic)
			d.send(ctx, d.root+"/"+topic, nil, true)
		}
	}
}

func sortedMeters(m map[string]*meter) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// value follows allocations (log lines) and charger status (sessions).
func (d *Dialect) value(ctx context.Context, v model.Value) {
	switch {
	case v.Device == lm && (strings.HasSuffix(v.Name, "_allocated_current") || strings.HasSuffix(v.Name, "_reason")):
		dev := strings.TrimSuffix(strings.TrimSuffix(v.Name, "_allocated_current"), "_reason")
		a, _ := d.num(lm, dev+"_allocated_current")
		_, r, _, _ := d.bus.Datapoint(lm, dev+"_reason")
		line := d.ids.wallbox(dev) + ": " + strconv.FormatFloat(a, 'f', -1, 64) + " A"
		if s, ok := r.Value.(string); ok && s != "" {
			line += " (" + s + ")"
		}
		if d.allocs[dev] != line {
			d.allocs[dev] = line
			d.logLine(slogInfo, "allocation "+line, "device", dev)
		}
	case v.Name == "status" || v.Name == "energy_total" || v.Name == "session_energy" || v.Name == "transaction_id":
		d.session(ctx, v)
	}
}

// event clears what went away at the next publish.
func (d *Dialect) event(ctx context.Context, e bus.Event) {
	if e.Type == bus.DeviceRemoved {
		delete(d.sessions, e.Device.Device)
		delete(d.allocs, e.Device.Device)
		d.publishState(ctx)
	}
}
