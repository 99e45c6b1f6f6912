package bemcom

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gridbox/gridbox/control"
	"github.com/gridbox/gridbox/model"
)

// controller is BEMCom's controller: for every entry of
// <name>/controlled_datapoints it follows the setpoint, the schedule and
// the paired sensor on MQTT and sends the actuator the value the rules of
// package control decide (items end at their to_timestamp), only when it
// changes. Run owns it.
type controller struct {
	name  string
	pairs map[string]*ctlPair      // by actuator value topic
	watch map[string][]watchTarget // topic → what it feeds
}

type ctlPair struct {
	actuator string // value topic
	setpoint []control.SetpointItem
	schedule []control.ScheduleItem
	sensor   *model.Value
	sent     any
	hasSent  bool
}

type watchTarget struct {
	pair *ctlPair
	what string // sensor, setpoint, schedule
}

func newController(name string) *controller {
	return &controller{name: name, pairs: map[string]*ctlPair{}, watch: map[string][]watchTarget{}}
}

// message handles controlled_datapoints and the watched topics.
func (c *controller) message(ctx context.Context, d *Dialect, m inMsg) {
	if m.topic == c.name+"/controlled_datapoints" {
		c.configure(d, m)
		return
	}
	targets := c.watch[m.topic]
	for _, t := range targets {
		if err := t.apply(m.payload); err != nil {
			d.bad(c.name, m.topic, m.payload, err)
			continue
		}
		c.decide(ctx, d, t.pair, model.NowMs())
	}
}

// configure replaces the controlled pairs, keeping the state of those that stay.
func (c *controller) configure(d *Dialect, m inMsg) {
	var items []controlledItem
	if err := decodeObject(m.payload, &items); err != nil {
		d.bad(c.name, m.topic, m.payload, err)
		return
	}
	old := c.pairs
	c.pairs, c.watch = map[string]*ctlPair{}, map[string][]watchTarget{}
	h := d.conn.Load()
	for i, it := range items {
		if it.Actuator.Value == "" {
			d.bad(c.name, m.topic, m.payload, fmt.Errorf("[%d].actuator.value: missing", i))
			continue
		}
		p, ok := old[it.Actuator.Value]
		if !ok {
			p = &ctlPair{actuator: it.Actuator.Value}
		}
		c.pairs[p.actuator] = p
		for what, topic := range map[string]string{"sensor": it.Sensor.Value, "setpoint": it.Actuator.Setpoint, "schedule": it.Actuator.Schedule} {
			if topic == "" {
				continue
			}
			c.watch[topic] = append(c.watch[topic], watchTarget{pair: p, what: what})
			if err := h.c.Subscribe(topic); err != nil {
				d.log.Warn("bemcom controller: topic not subscribed", "topic", topic, "err", err)
			}
		}
	}
	d.log.Info("bemcom controller configured", "controller", c.name, "actuators", len(c.pairs))
}

// apply takes a sensor value, setpoint or schedule message.
func (t watchTarget) apply(payload []byte) error {
	switch t.what {
	case "sensor":
		var v valueMsg
		if err := decodeObject(payload, &v); err != nil {
			return err
		}
		t.pair.sensor = &model.Value{Value: v.Value, Time: v.Timestamp, Quality: model.Good}
	case "setpoint":
		var s struct {
			Setpoint []control.SetpointItem `json:"setpoint"`
		}
		if err := decodeObject(payload, &s); err != nil {
			return err
		}
		t.pair.setpoint = s.Setpoint
	case "schedule":
		var s struct {
			Schedule []control.ScheduleItem `json:"schedule"`
		}
		if err := decodeObject(payload, &s); err != nil {
			return err
		}
		t.pair.schedule = s.Schedule
	}
	return nil
}

// tick re-decides every pair: items start and end with time.
func (c *controller) tick(ctx context.Context, d *Dialect, now int64) {
	for _, topic := range sortedKeys(c.pairs) {
		c.decide(ctx, d, c.pairs[topic], now)
	}
}

// decide sends the actuator its value when the decision changes it.
func (c *controller) decide(ctx context.Context, d *Dialect, p *ctlPair, now int64) {
	dec := control.Decide(now, p.setpoint, p.schedule, p.sensor)
	if !dec.Act {
		p.hasSent = false // leave the actuator alone; send again when an item starts
		return
	}
	if p.hasSent && sameJSON(p.sent, dec.Value) {
		return
	}
	if err := d.publish(ctx, p.actuator, valueMsg{Value: dec.Value, Timestamp: now}, 0, false); err != nil {
		return
	}
	p.sent, p.hasSent = dec.Value, true
	d.log.Debug("bemcom controller sent an actuator value", "topic", p.actuator, "value", dec.Value, "reason", dec.Reason)
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
