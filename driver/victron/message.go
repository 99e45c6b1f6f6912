package victron

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gridbox/gridbox/driver/internal/devstat"
	"github.com/gridbox/gridbox/model"
)

// maxPayload bounds one N message; larger ones are counted and dropped.
const maxPayload = 64 << 10

// message reads one N message.
func (d *Device) message(topic string, payload []byte) {
	kind, rest, _ := strings.Cut(topic, "/")
	portal, p, _ := strings.Cut(rest, "/")
	if kind != "N" {
		return
	}
	d.mu.Lock()
	known := d.portal
	if known == "" && p == "system/0/Serial" && portalRE.MatchString(portal) {
		d.portal, known = portal, portal
		d.log.Info("victron portal id learnt", "device", d.cfg.ID, "portal_id", portal)
		defer d.signal()
	}
	d.mu.Unlock()
	if portal != known {
		return
	}
	if len(payload) > maxPayload {
		d.malformed("oversized", fmt.Errorf("%s: %d bytes", topic, len(payload)))
		return
	}
	switch p {
	case "keepalive", "system/0/Serial":
		return
	case "full_publish_completed":
		d.completed(payload)
		return
	case "heartbeat":
		d.heartbeat(payload)
		return
	}
	vp, err := parsePath(p)
	if err != nil {
		d.malformed("topic", err)
		return
	}
	if len(payload) == 0 {
		d.gone(p)
		return
	}
	v, err := decode(payload)
	if err != nil {
		d.malformed("payload", fmt.Errorf("%s: %w", topic, err))
		return
	}
	d.value(vp, p, v)
}

// decode reads {"value": x}; x is a number, text, bool or nil.
func decode(payload []byte) (any, error) {
	var body struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		return nil, fmt.Errorf("want {\"value\": …}: %w", err)
	}
	if body.Value == nil {
		return nil, fmt.Errorf("want {\"value\": …}: no value key in %.64s", payload)
	}
	var v any
	if err := json.Unmarshal(body.Value, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// value publishes one value, adding the service device and its datapoint
// when they are new. Lists and objects (a few GX paths) are not read.
func (d *Device) value(vp vpath, p string, v any) {
	format := formatOf(v)
	if v != nil && format == "" {
		return
	}
	now := model.NowMs()
	d.mu.Lock()
	pt, ok := d.byPath[p]
	if !ok && v != nil {
		pt, ok = d.add(vp, p, format)
	}
	d.state.LastSeen = now
	out := d.sink
	d.mu.Unlock()
	var vals []model.Value
	val := model.Value{Value: v, Time: now, Quality: model.Good}
	if v == nil {
		val.Quality = model.Bad // the GX's "invalid": not available
	}
	if ok {
		if v != nil && !compatible(pt.format, format) {
			d.malformed("type", fmt.Errorf("%s: %v is not %s like before", p, v, pt.format))
			return
		}
		val.Device, val.Name = pt.device, pt.name
		vals = append(vals, val)
	}
	if a, isAct := d.acts[p]; isAct {
		val.Device, val.Name = d.cfg.ID, a.Name
		vals = append(vals, val)
	}
	if len(vals) > 0 && out != nil {
		out.Publish(vals...)
	}
}

// add makes the datapoint of a path (and its service device); d.mu is held.
func (d *Device) add(vp vpath, p string, format model.Format) (point, bool) {
	if d.points >= d.cfg.MaxPoints {
		if !d.full {
			d.full = true
			d.log.Warn("victron: max_points reached, new paths ignored", "device", d.cfg.ID, "max_points", d.cfg.MaxPoints, "path", p)
		}
		return point{}, false
	}
	dev := fmt.Sprintf("%s-%s-%d", d.cfg.ID, vp.service, vp.instance)
	pt := point{device: dev, name: slug(vp.rest), format: format}
	if pt.name == "" {
		return point{}, false
	}
	s := d.svc[dev]
	if s != nil && s.names[pt.name] != "" {
		d.log.Warn("victron: two paths give one datapoint name; the second is ignored", "device", dev, "datapoint", pt.name, "path", p, "first", s.names[pt.name])
		return point{}, false
	}
	dp := model.Datapoint{Device: dev, Name: pt.name, Meta: meta(vp, format)}
	if d.cat != nil {
		var err error
		if s == nil {
			err = d.cat.AddDevice(model.DeviceState{Device: dev, Driver: "victron", Online: true, LastSeen: model.NowMs()}, []model.Datapoint{dp}, nil, 0)
		} else {
			err = d.cat.AddDatapoints(dev, dp)
		}
		if err != nil {
			d.log.Warn("victron: datapoint not added", "device", dev, "datapoint", pt.name, "path", p, "err", err)
			return point{}, false
		}
	}
	if s == nil {
		s = &service{names: map[string]string{}}
		d.svc[dev] = s
	}
	s.names[pt.name] = p
	d.byPath[p] = pt
	d.points++
	return pt, true
}

// gone removes the datapoint of a path that got a zero-byte message, and
// its service device with its last datapoint.
func (d *Device) gone(p string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pt, ok := d.byPath[p]
	if !ok {
		return
	}
	delete(d.byPath, p)
	d.points--
	s := d.svc[pt.device]
	delete(s.names, pt.name)
	if len(s.names) == 0 {
		delete(d.svc, pt.device)
	}
	if d.cat == nil {
		return
	}
	var err error
	if len(s.names) == 0 {
		err = d.cat.RemoveDevice(pt.device)
	} else {
		err = d.cat.RemoveDatapoints(pt.device, pt.name)
	}
	if err != nil {
		d.log.Warn("victron: datapoint not removed", "device", pt.device, "datapoint", pt.name, "err", err)
	}
}

func (d *Device) completed(payload []byte) {
	var body struct {
		Echo string `json:"full-publish-completed-echo"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		d.malformed("payload", fmt.Errorf("full_publish_completed: %w", err))
		return
	}
	d.mu.Lock()
	if body.Echo != "" && body.Echo == d.echo {
		d.complete = true
	}
	d.mu.Unlock()
}

func (d *Device) heartbeat(payload []byte) {
	v, err := decode(payload)
	if err != nil {
		d.malformed("payload", fmt.Errorf("heartbeat: %w", err))
		return
	}
	f, ok := v.(float64)
	if !ok {
		d.malformed("type", fmt.Errorf("heartbeat: %v is not a number", v))
		return
	}
	d.mu.Lock()
	out := d.sink
	d.state.LastSeen = model.NowMs()
	d.mu.Unlock()
	if out != nil {
		out.Publish(model.Value{Device: d.cfg.ID, Name: "heartbeat", Value: f, Time: model.NowMs(), Quality: model.Good})
	}
}

// malformed counts and logs a bad message and shows it in the GX's $state.
func (d *Device) malformed(kind string, err error) {
	d.bad.Add(kind)
	d.log.Warn("victron: malformed message", "device", d.cfg.ID, "kind", kind, "err", err)
	d.mu.Lock()
	d.state.Error = fmt.Sprintf("malformed (%s, %d so far): %v", kind, d.bad.Total(), err)
	st, out := d.state, d.sink
	d.mu.Unlock()
	if out != nil {
		out.SetState(st, 0, 1)
	}
}

func formatOf(v any) model.Format {
	switch v.(type) {
	case float64:
		return model.GenericNumeric
	case string:
		return model.GenericText
	case bool:
		return model.Bool
	}
	return ""
}

func compatible(have, got model.Format) bool {
	return have == got || have.Numeric() && got.Numeric()
}

// slug is a path as a datapoint name: Ac/L1/Power → ac_l1_power.
func slug(p string) string { return devstat.Slug(strings.ReplaceAll(p, "/", "_")) }

// roles gives well-known paths the roles of docs/profiles.md (the ones
// dialect/victron maps back).
var roles = map[string]string{
	"grid/Ac/Power": "grid_power", "pvinverter/Ac/Power": "pv_power", "battery/Soc": "battery_soc",
	"battery/Dc/0/Power": "battery_power", "evcharger/Ac/Power": "ev_power",
}

// meta describes a path's datapoint: a sensor with the unit its last
// element implies and the role of a well-known path.
func meta(vp vpath, format model.Format) model.Meta {
	m := model.Meta{Kind: model.Sensor, Format: format, Role: roles[vp.service+"/"+vp.rest]}
	last := vp.rest[strings.LastIndex(vp.rest, "/")+1:]
	if format.Numeric() {
		m.Unit = map[string]string{"Power": "W", "Voltage": "V", "Current": "A", "Soc": "%", "Frequency": "Hz",
			"Temperature": "°C", "AcPowerSetpoint": "W"}[last]
		if m.Unit != "" {
			m.Format = model.ContinuousNumeric
		}
	}
	return m
}
