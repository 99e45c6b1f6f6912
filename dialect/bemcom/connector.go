package bemcom

import (
	"context"
	"fmt"
	"slices"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// ownConn is a gridbox device acting as a BEMCom connector named after it.
// Its keys are the datapoint names (already flat: no nesting to join).
type ownConn struct {
	device    string
	announced map[string]bool   // keys in the last available_datapoints
	sensors   map[string]string // datapoint_map: key → topic
	actuators map[string]string // datapoint_map: topic → key
}

// addOwn makes a device a connector when the config lets it.
func (d *Dialect) addOwn(device string) {
	if _, ok := d.own[device]; ok {
		return
	}
	if len(d.cfg.Devices) > 0 && !slices.Contains(d.cfg.Devices, device) {
		return
	}
	d.mu.Lock()
	_, imported := d.extDev[device]
	d.mu.Unlock()
	if imported {
		return
	}
	d.own[device] = &ownConn{device: device, announced: map[string]bool{}, sensors: map[string]string{}, actuators: map[string]string{}}
}

// announceAll runs after every (re)connect.
func (d *Dialect) announceAll(ctx context.Context) {
	for _, dev := range sortedKeys(d.own) {
		oc := d.own[dev]
		clear(oc.announced)
		d.connectorLog(ctx, dev, levelInfo, "gridbox connector for device "+dev+" started")
		d.announce(ctx, oc)
	}
	d.heartbeats(ctx) // the first one at once, as connectors do at start
}

// announce publishes available_datapoints when a key is new.
func (d *Dialect) announce(ctx context.Context, oc *ownConn) {
	msg := availableMsg{Sensor: map[string]any{}, Actuator: map[string]any{}}
	fresh := false
	for _, p := range d.o.Bus.Datapoints() {
		if p.Device != oc.device {
			continue
		}
		side := msg.Sensor
		if p.Kind == model.Actuator {
			side = msg.Actuator
		}
		side[p.Name] = example(p.Datapoint, p.Last)
		if !oc.announced[string(p.Kind)+"/"+p.Name] {
			fresh = true
		}
	}
	if !fresh {
		return
	}
	if d.publish(ctx, oc.device+"/available_datapoints", msg, 0, true) != nil {
		return
	}
	for k := range msg.Sensor {
		oc.announced["sensor/"+k] = true
	}
	for k := range msg.Actuator {
		oc.announced["actuator/"+k] = true
	}
}

// connectorLog publishes one C/logs record (retained, as BEMCom's Python
// template does).
func (d *Dialect) connectorLog(ctx context.Context, connector string, level int, msg string) {
	_ = d.publish(ctx, connector+"/logs", logMsg{Timestamp: model.NowMs(), Msg: msg, Emitter: "main", Level: level}, 0, true)
}

// heartbeats publishes C/heartbeat for every connector whose device is online.
func (d *Dialect) heartbeats(ctx context.Context) {
	now := model.NowMs()
	for _, dev := range sortedKeys(d.own) {
		if st, ok := d.o.Bus.Device(dev); !ok || !st.Online {
			continue
		}
		_ = d.publish(ctx, dev+"/heartbeat", heartbeatMsg{This: now, Next: now + d.cfg.heartbeat().Milliseconds()}, 0, false)
	}
}

// onMap applies a datapoint_map from the API to one of gridbox's connectors.
func (d *Dialect) onMap(ctx context.Context, connector string, payload []byte) {
	oc, ok := d.own[connector]
	if !ok {
		return
	}
	var m datapointMap
	if err := decodeObject(payload, &m); err != nil || m.Sensor == nil || m.Actuator == nil {
		if err == nil {
			err = fmt.Errorf(`want {"sensor": {...}, "actuator": {...}}`)
		}
		d.bad(connector, connector+"/datapoint_map", payload, err)
		return
	}
	for topic := range oc.actuators {
		delete(d.routes, topic)
	}
	oc.sensors, oc.actuators = m.Sensor, m.Actuator
	h := d.conn.Load()
	for _, topic := range sortedKeys(m.Actuator) {
		key := m.Actuator[topic]
		d.routes[topic] = topicRoute{actuator: true, device: oc.device, name: key, connector: connector}
		if err := h.c.Subscribe(topic); err != nil {
			d.log.Warn("bemcom: actuator topic not subscribed", "connector", connector, "topic", topic, "err", err)
		}
	}
	d.log.Info("bemcom datapoint map applied", "connector", connector, "sensors", len(m.Sensor), "actuators", len(m.Actuator))
	for _, key := range sortedKeys(m.Sensor) { // the current values at once
		if _, last, has, ok := d.o.Bus.Datapoint(oc.device, key); ok && has {
			d.ownValue(ctx, oc, last)
		}
	}
}

// ownValue publishes a value of a mapped sensor (retained) and, when
// configured, the raw message.
func (d *Dialect) ownValue(ctx context.Context, oc *ownConn, v model.Value) {
	if d.cfg.RawMessageToDB {
		var raw rawMsg
		raw.Payload.RawMessage = map[string]any{v.Name: v.Value}
		raw.Payload.Timestamp = v.Time
		raw.Version = d.o.Version
		_ = d.publish(ctx, oc.device+"/raw_message_to_db", raw, 0, false)
	}
	topic, ok := oc.sensors[v.Name]
	if !ok {
		return
	}
	var x any
	if v.Quality == model.Good {
		x = v.Value
	}
	_ = d.publish(ctx, topic, valueMsg{Value: x, Timestamp: v.Time}, 0, true)
}

// actuatorValue queues an actuator value from the API or controller for
// the write path.
func (d *Dialect) actuatorValue(r topicRoute, m inMsg) {
	if m.retained { // an old value replayed by the broker is never applied
		d.o.Count("refused")
		d.log.Warn("bemcom: retained actuator value ignored", "connector", r.connector, "topic", m.topic)
		return
	}
	var v valueMsg
	if err := decodeObject(m.payload, &v); err != nil {
		d.bad(r.connector, m.topic, m.payload, err)
		d.o.Bus.CountRejected()
		return
	}
	select {
	case d.writes <- writeReq{connector: r.connector, key: r.name, device: r.device, name: r.name, value: v.Value}:
	default:
		d.o.Count("refused")
		d.o.Bus.CountRejected()
		d.log.Warn("bemcom write refused: queue full", "connector", r.connector, "datapoint", r.name)
	}
}

// writeWorker applies actuator values through the bus (limits, audit log
// with source bemcom); a refused or failed write is logged to C/logs.
func (d *Dialect) writeWorker(ctx context.Context) {
	ctx = bus.WithSource(ctx, Source)
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-d.writes:
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			v := w.value
			if meta, _, _, ok := d.o.Bus.Datapoint(w.device, w.name); ok {
				v = coerce(v, meta.Format)
			}
			_, err := d.o.Bus.Write(wctx, w.device, w.name, v)
			cancel()
			if err != nil {
				d.o.Count("write_failed")
				d.log.Warn("bemcom write failed", "connector", w.connector, "device", w.device, "datapoint", w.name, "err", err)
				d.connectorLog(ctx, w.connector, levelError, fmt.Sprintf("actuator value %v for %s not written: %v", model.Short(v), w.key, err))
				continue
			}
			d.o.Count("write")
		}
	}
}
