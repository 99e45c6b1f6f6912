package mqttsrc

import (
	"context"
	"errors"
	"fmt"

	"github.com/eclipse/paho.golang/paho"
	"github.com/gridbox/gridbox/model"
)

// message reads one received message into values of every spec it matches.
func (d *Device) message(topic string, payload []byte) {
	if len(payload) > d.cfg.MaxPayload {
		d.malformed("oversized", fmt.Errorf("%s: %d bytes, more than max_payload %d", topic, len(payload), d.cfg.MaxPayload))
		return
	}
	now := model.NowMs()
	var vals []model.Value
	for _, s := range d.specs {
		matched, ok := s.match(topic)
		if !ok {
			continue
		}
		name := s.name(matched)
		if name == "" {
			continue
		}
		raws, err := s.extract(name, payload)
		if err != nil {
			d.malformedErr(err)
			continue
		}
		for n, raw := range raws {
			format, ok := d.ensure(s, n, raw)
			if !ok {
				continue
			}
			v, err := convert(format, raw, s.Scale)
			if err != nil {
				d.malformed("type", fmt.Errorf("%s (%s): %w", n, topic, err))
				continue
			}
			vals = append(vals, model.Value{Device: d.cfg.ID, Name: n, Value: v, Time: now, Quality: model.Good})
		}
	}
	if len(vals) == 0 {
		return
	}
	d.mu.Lock()
	d.state.LastSeen = now
	out := d.sink
	d.mu.Unlock()
	out.Publish(vals...)
}

// ensure returns the format of datapoint name, adding it to the catalog
// when it is seen for the first time (wildcard matches, object leaves).
func (d *Device) ensure(s *spec, name string, raw any) (model.Format, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.known[name]; ok {
		return f, true
	}
	format := s.Format
	if format == "" {
		format = infer(raw)
	}
	if format == "" || !model.ValidID(name) {
		return "", false // null before the first value; or nothing of a name left
	}
	if d.dynamic >= d.cfg.MaxPoints {
		if !d.full {
			d.full = true
			d.log.Warn("mqtt source: max_points reached, new topics ignored", "max_points", d.cfg.MaxPoints, "name", name)
		}
		return "", false
	}
	dp := s.datapoint(name, format)
	dp.Kind, dp.Device = model.Sensor, d.cfg.ID
	if dp.CheckMeta() != nil {
		dp.Min, dp.Max, dp.Allowed = nil, nil, nil
	}
	if d.cat != nil {
		if err := d.cat.AddDatapoints(d.cfg.ID, dp); err != nil {
			d.log.Warn("mqtt source: datapoint not added", "name", name, "err", err)
			return "", false
		}
	}
	d.known[name] = format
	d.dynamic++
	return format, true
}

func (d *Device) malformedErr(err error) {
	var bp *badPayload
	if errors.As(err, &bp) {
		d.malformed(bp.kind, err)
		return
	}
	d.malformed("payload", err)
}

// malformed counts a malformed message and shows it in $state.
func (d *Device) malformed(kind string, err error) {
	d.bad.Add(kind)
	d.log.Warn("mqtt source: malformed message", "kind", kind, "err", err)
	d.mu.Lock()
	d.state.Error = fmt.Sprintf("malformed (%s, %d so far): %v", kind, d.bad.Total(), err)
	st, out := d.state, d.sink
	d.mu.Unlock()
	if out != nil {
		out.SetState(st, 0, 1)
	}
}

// Write publishes a validated value to the datapoint's write_topic.
func (d *Device) Write(ctx context.Context, name string, v any) (any, error) {
	s, ok := d.static[name]
	if !ok || s.WriteTopic == "" {
		return nil, fmt.Errorf("mqtt source: %q has no write_topic", name)
	}
	payload, err := s.encode(v)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	cm := d.cm
	d.mu.Unlock()
	if cm == nil {
		return nil, fmt.Errorf("mqtt source: not connected to %s", d.t.redacted)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if _, err := cm.Publish(ctx, &paho.Publish{Topic: s.WriteTopic, Payload: payload, QoS: byte(d.cfg.QoS)}); err != nil {
		return nil, fmt.Errorf("publish %s: %w", s.WriteTopic, err)
	}
	return v, nil
}
