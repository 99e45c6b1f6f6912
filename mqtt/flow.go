package mqtt

import (
	"time"

	"github.com/gridbox/gridbox/model"
)

// value publishes one bus value, or buffers it while disconnected.
func (p *Publisher) value(v model.Value) {
	if !p.isOnline() {
		p.hold(v)
		return
	}
	payload, ok := p.encode(v)
	if !ok {
		return
	}
	if err := p.send(p.valueTopic(v), payload, p.o.QoS, true); err != nil {
		p.lost()
		p.log.Warn("mqtt publish failed; buffering values", "device", v.Device, "datapoint", v.Name, "err", err)
		p.hold(v)
		return
	}
	p.sent.add(v, time.Now().UnixNano())
}

// hold buffers v; when the buffer is full its oldest value is dropped and counted.
func (p *Publisher) hold(v model.Value) {
	if p.buf.push(v) {
		p.m.dropped.WithLabelValues(dropBufferFull).Inc()
	}
}

func (p *Publisher) valueTopic(v model.Value) string {
	return p.o.Prefix + "/" + v.Device + "/" + v.Name
}

// encode returns v's payload; an unencodable value is dropped, counted and
// logged once per datapoint.
func (p *Publisher) encode(v model.Value) ([]byte, bool) {
	// A fresh slice per message: clients may send the payload after publish returns.
	b, err := appendValue(make([]byte, 0, 64), v)
	if err != nil {
		p.m.dropped.WithLabelValues(dropEncode).Inc()
		if !p.badLogs[v.Key()] {
			p.badLogs[v.Key()] = true
			p.log.Warn("value not publishable; dropped (logged once per datapoint)", "device", v.Device, "datapoint", v.Name, "err", err)
		}
		return nil, false
	}
	return b, true
}

// sendDeviceState publishes <prefix>/<device>/$state.
func (p *Publisher) sendDeviceState(st model.DeviceState) error {
	err := p.send(p.o.Prefix+"/"+st.Device+"/$state", encodeDeviceState(st), 1, true)
	if err != nil {
		p.log.Warn("device state not published", "device", st.Device, "err", err)
	}
	return err
}

// announce runs after every (re)connect: the /set subscription first (a
// client that sees the gateway online may write at once, and every write
// must be answered), then gateway state, device states, metadata, the
// buffered values in arrival order and the last value of every datapoint
// not just flushed. On failure it returns a timer to try again while the
// link is still up.
func (p *Publisher) announce() <-chan time.Time {
	if !p.linkUp.Load() {
		return nil // lost again; the next up hook signals
	}
	if err := p.announceSteps(); err != nil {
		p.log.Warn("mqtt (re)connect announcement failed", "err", err)
		if p.linkUp.Load() {
			return time.After(announceRetry)
		}
		return nil
	}
	p.online = true
	p.log.Info("mqtt connected", "datapoints", len(p.bus.Datapoints()), "devices", len(p.bus.Devices()))
	return nil
}

func (p *Publisher) announceSteps() error {
	if err := p.tr.subscribe(p.o.Prefix + "/+/+/+"); err != nil { // …/set, …/setpoint, …/schedule
		return err
	}
	if err := p.send(p.o.Prefix+"/$state", encodeGatewayState(true, p.o.Version, p.bus.GatewayStatus()), 1, true); err != nil {
		return err
	}
	for _, st := range p.bus.Devices() {
		if err := p.sendDeviceState(st); err != nil {
			return err
		}
	}
	if err := p.clearRetained(); err != nil {
		return err
	}
	points := p.bus.Datapoints()
	for _, d := range points {
		if err := p.sendMeta(d.Datapoint); err != nil {
			return err
		}
	}
	flushed, err := p.flush()
	if err != nil {
		return err
	}
	for _, d := range points {
		if t, ok := flushed[d.Key()]; d.Last == nil || ok && t == d.Last.Time {
			continue
		}
		if payload, ok := p.encode(*d.Last); ok {
			if err := p.send(p.valueTopic(*d.Last), payload, p.o.QoS, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush publishes the buffered values oldest first and returns the newest
// timestamp flushed per datapoint. A value stays buffered until it was sent.
// Values arriving from the bus meanwhile join the buffer's end after every
// send: a long flush must not overflow the bus queue, which holds far fewer
// values than the buffer (bench/soak lost 124 000 values that way, counted,
// flushing 250 000 after a 25 s outage). It ends once the buffer is empty,
// or after as many more sends as the buffer holds when values keep coming
// faster than they go out (the buffer then drops its oldest, counted).
func (p *Publisher) flush() (map[string]int64, error) {
	n := p.buf.len()
	flushed := make(map[string]int64)
	for sends := 0; sends < n+p.o.Buffer; sends++ {
		p.takeWaiting()
		v, ok := p.buf.peek()
		if !ok {
			break
		}
		if _, _, _, known := p.bus.Datapoint(v.Device, v.Name); !known {
			p.buf.pop() // removed while disconnected: its topic is cleared, not refilled
			continue
		}
		if payload, ok := p.encode(v); ok {
			if err := p.send(p.valueTopic(v), payload, p.o.QoS, true); err != nil {
				return nil, err
			}
			flushed[v.Key()] = v.Time
		}
		p.buf.pop()
	}
	if n > 0 {
		p.log.Info("flushed values buffered while disconnected", "values", n)
	}
	return flushed, nil
}

// takeWaiting moves the values waiting in the bus subscription into the
// buffer, without blocking.
func (p *Publisher) takeWaiting() {
	if p.sub == nil {
		return
	}
	for {
		select {
		case v := <-p.sub.Values:
			p.hold(v)
		default:
			return
		}
	}
}
