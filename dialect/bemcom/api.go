package bemcom

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/gridbox/gridbox/model"
)

// DriverName is the driver of the devices imported from outside connectors.
const DriverName = "bemcom"

// extConn is an outside connector imported as a run-time gridbox device.
type extConn struct {
	name     string            // connector name
	device   string            // gridbox device id
	keyOf    map[string]string // datapoint name → key in connector
	nameOf   map[string]string // key in connector → datapoint name
	lastBeat int64             // ms of the last heartbeat; 0 = none yet
	online   bool
}

// extWriter sends gridbox writes of an imported actuator to its connector.
type extWriter struct {
	d  *Dialect
	ec *extConn
}

func (w extWriter) Write(ctx context.Context, name string, v any) (any, error) {
	id, ok := w.d.ids.known(model.Key(w.ec.device, name))
	if !ok {
		return nil, fmt.Errorf("bemcom: %s/%s has no datapoint id", w.ec.device, name)
	}
	topic := w.ec.name + "/messages/" + strconv.Itoa(id) + "/value"
	if err := w.d.publish(ctx, topic, valueMsg{Value: v, Timestamp: model.NowMs()}, 0, false); err != nil {
		return nil, err
	}
	return v, nil
}

// accepts says whether the API role imports a connector of this name.
func (d *Dialect) accepts(connector string) bool {
	if !d.cfg.has(RoleAPI) {
		return false
	}
	if _, own := d.own[connector]; own {
		return false
	}
	return len(d.cfg.Connectors) == 0 || slices.Contains(d.cfg.Connectors, connector)
}

// onAvailable imports or extends an outside connector and sends it the
// datapoint map.
func (d *Dialect) onAvailable(ctx context.Context, connector string, payload []byte) {
	if !d.accepts(connector) {
		return
	}
	var m availableMsg
	if err := decodeObject(payload, &m); err != nil || m.Sensor == nil || m.Actuator == nil {
		if err == nil {
			err = fmt.Errorf(`want {"sensor": {...}, "actuator": {...}}`)
		}
		d.bad(connector, connector+"/available_datapoints", payload, err)
		return
	}
	d.mu.Lock()
	ec, known := d.ext[connector]
	d.mu.Unlock()
	if !known {
		d.mu.Lock()
		full := len(d.ext) >= MaxConnectors
		d.mu.Unlock()
		if full {
			d.bad(connector, connector+"/available_datapoints", payload, fmt.Errorf("already %d connectors imported: at most %d", MaxConnectors, MaxConnectors))
			return
		}
		dev := slug(connector)
		if _, taken := d.o.Bus.Device(dev); taken {
			d.bad(connector, connector+"/available_datapoints", payload, fmt.Errorf("device id %q is taken by a gridbox device", dev))
			return
		}
		ec = &extConn{name: connector, device: dev, keyOf: map[string]string{}, nameOf: map[string]string{}, online: true}
	}
	points := d.newPoints(ec, m)
	var err error
	if !known {
		d.mu.Lock()
		d.ext[connector], d.extDev[ec.device] = ec, ec
		d.mu.Unlock()
		err = d.o.Bus.AddDevice(model.DeviceState{Device: ec.device, Driver: DriverName, Online: true, LastSeen: model.NowMs()}, points, extWriter{d, ec}, 0)
	} else if len(points) > 0 {
		err = d.o.Bus.AddDatapoints(ec.device, points...)
	}
	if err != nil {
		d.bad(connector, connector+"/available_datapoints", payload, err)
		return
	}
	if !known {
		d.log.Info("bemcom connector imported", "connector", connector, "device", ec.device, "datapoints", len(points))
	}
	d.sendMap(ctx, ec)
}

// newPoints returns the datapoints of keys not seen before.
func (d *Dialect) newPoints(ec *extConn, m availableMsg) []model.Datapoint {
	var out []model.Datapoint
	add := func(kind model.Kind, keys map[string]any) {
		for _, key := range sortedKeys(keys) {
			d.mu.Lock()
			_, seen := ec.nameOf[key]
			if seen {
				d.mu.Unlock()
				continue
			}
			if len(ec.nameOf) >= MaxKeys {
				d.log.Warn("bemcom: key left out: too many keys", "connector", ec.name, "key", key, "max", MaxKeys)
				d.o.Bad(ec.name)
				d.mu.Unlock()
				continue
			}
			name := slug(key)
			for i := 2; ec.keyOf[name] != ""; i++ {
				name = slug(key) + "_" + strconv.Itoa(i)
			}
			ec.keyOf[name], ec.nameOf[key] = key, name
			d.mu.Unlock()
			d.assign(model.Key(ec.device, name))
			out = append(out, model.Datapoint{Device: ec.device, Name: name, Meta: model.Meta{Kind: kind, Format: formatOf(keys[key]),
				Description: "BEMCom " + ec.name + ": " + key}})
		}
	}
	add(model.Sensor, m.Sensor)
	add(model.Actuator, m.Actuator)
	return out
}

// sendMap publishes the datapoint map (retained, QoS 2): every sensor's
// values on C/messages/N/value, every actuator's on its own such topic.
func (d *Dialect) sendMap(ctx context.Context, ec *extConn) {
	m := datapointMap{Sensor: map[string]string{}, Actuator: map[string]string{}}
	h := d.conn.Load()
	for _, p := range d.o.Bus.Datapoints() {
		if p.Device != ec.device {
			continue
		}
		d.mu.Lock()
		key := ec.keyOf[p.Name]
		d.mu.Unlock()
		topic := ec.name + "/messages/" + strconv.Itoa(d.assign(p.Key())) + "/value"
		if p.Kind == model.Actuator {
			m.Actuator[topic] = key
			continue
		}
		m.Sensor[key] = topic
		if _, ok := d.routes[topic]; !ok {
			d.routes[topic] = topicRoute{device: ec.device, name: p.Name, connector: ec.name}
			if err := h.c.Subscribe(topic); err != nil {
				d.log.Warn("bemcom: sensor topic not subscribed", "connector", ec.name, "topic", topic, "err", err)
			}
		}
	}
	_ = d.publish(ctx, ec.name+"/datapoint_map", m, 2, true)
}

// sensorValue puts an outside connector's value on the bus.
func (d *Dialect) sensorValue(r topicRoute, m inMsg) {
	var v valueMsg
	if err := decodeObject(m.payload, &v); err != nil {
		d.bad(r.connector, m.topic, m.payload, err)
		return
	}
	if v.Timestamp <= 0 {
		d.bad(r.connector, m.topic, m.payload, fmt.Errorf("timestamp %d: want integer ms since the epoch", v.Timestamp))
		return
	}
	meta, _, _, ok := d.o.Bus.Datapoint(r.device, r.name)
	if !ok {
		return
	}
	d.o.Bus.Publish(model.Value{Device: r.device, Name: r.name, Value: coerce(v.Value, meta.Format), Time: v.Timestamp, Quality: model.Good})
	d.beat(r.connector, false)
}

// onHeartbeat keeps an outside connector's device online.
func (d *Dialect) onHeartbeat(connector string, payload []byte) {
	d.mu.Lock()
	_, ok := d.ext[connector]
	d.mu.Unlock()
	if !ok {
		return
	}
	var hb heartbeatMsg
	if err := decodeObject(payload, &hb); err != nil || hb.This <= 0 {
		if err == nil {
			err = fmt.Errorf("this_heartbeats_timestamp %d: want integer ms", hb.This)
		}
		d.bad(connector, connector+"/heartbeat", payload, err)
		return
	}
	d.beat(connector, true)
}

// beat marks a connector alive; heartbeat says it was a heartbeat (which
// starts the expiry watch).
func (d *Dialect) beat(connector string, heartbeat bool) {
	d.mu.Lock()
	ec, ok := d.ext[connector]
	if !ok {
		d.mu.Unlock()
		return
	}
	now := model.NowMs()
	if heartbeat || ec.lastBeat > 0 {
		ec.lastBeat = now
	}
	wasOnline := ec.online
	ec.online = true
	d.mu.Unlock()
	if heartbeat || !wasOnline {
		d.o.Bus.SetState(model.DeviceState{Device: ec.device, Driver: DriverName, Online: true, LastSeen: now}, 0, 0)
	}
}

// expire marks outside connectors offline after three missed heartbeats.
func (d *Dialect) expire(now time.Time) {
	limit := 3 * d.cfg.heartbeat().Milliseconds()
	d.mu.Lock()
	var gone []*extConn
	for _, ec := range d.ext {
		if ec.online && ec.lastBeat > 0 && now.UnixMilli()-ec.lastBeat > limit {
			ec.online = false
			gone = append(gone, ec)
		}
	}
	d.mu.Unlock()
	for _, ec := range gone {
		d.log.Warn("bemcom connector silent: no heartbeat", "connector", ec.name, "for", time.Duration(limit)*time.Millisecond)
		d.o.Bus.SetState(model.DeviceState{Device: ec.device, Driver: DriverName, Online: false, LastSeen: ec.lastBeat, Error: "no heartbeat"}, 0, 0)
		d.o.Bus.MarkStale(ec.device, now.UnixMilli())
	}
}

// onLogs passes an outside connector's log record to gridbox's log.
func (d *Dialect) onLogs(connector string, payload []byte) {
	d.mu.Lock()
	_, ok := d.ext[connector]
	d.mu.Unlock()
	if !ok {
		return
	}
	var l logMsg
	if err := decodeObject(payload, &l); err != nil {
		d.bad(connector, connector+"/logs", payload, err)
		return
	}
	level := slog.LevelInfo
	switch {
	case l.Level >= levelError:
		level = slog.LevelError
	case l.Level >= levelWarning:
		level = slog.LevelWarn
	case l.Level < levelInfo:
		level = slog.LevelDebug
	}
	d.log.Log(context.Background(), level, "bemcom connector log: "+l.Msg, "connector", connector, "emitter", l.Emitter, "timestamp", l.Timestamp)
}
