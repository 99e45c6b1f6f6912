package control

import (
	"context"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// Run re-evaluates the decisions when a sensor value, a setpoint, a
// schedule or the clock (the next item boundary) changes, and writes an
// actuator only when its decided value changes. It returns when ctx is done.
func (c *Controller) Run(ctx context.Context, sub *bus.Subscription) error {
	c.initSensors()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var values <-chan model.Value
	var states <-chan model.DeviceState
	var events <-chan bus.Event
	if sub != nil {
		values, states, events = sub.Values, sub.States, sub.Events
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case v := <-values:
			if !c.sensorValue(v) {
				continue
			}
		case <-states:
			continue
		case <-events:
			continue
		case <-c.kick:
		case <-timer.C:
		}
		next := c.evaluate(ctx)
		timer.Reset(next)
	}
}

// initSensors takes each sensor's last value from the bus.
func (c *Controller) initSensors() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.pairs {
		d, n := split(p.Sensor)
		if _, v, has, _ := c.bus.Datapoint(d, n); has {
			p.sensor = &v
		}
	}
}

// sensorValue keeps v if it is a pair's sensor; true if it was.
func (c *Controller) sensorValue(v model.Value) bool {
	key := model.Key(v.Device, v.Name)
	c.mu.Lock()
	defer c.mu.Unlock()
	hit := false
	for _, p := range c.pairs {
		if p.Sensor == key {
			v := v
			p.sensor = &v
			hit = true
		}
	}
	return hit
}

// write is one decided value to apply.
type write struct {
	p     *pair
	value any
}

// evaluate decides every pair, applies the changed decisions and returns
// how long until the next item boundary or retry.
func (c *Controller) evaluate(ctx context.Context) time.Duration {
	now := c.now()
	var todo []write
	wake := int64(0)
	c.mu.Lock()
	for _, p := range c.pairs {
		p.decision = Decide(now, p.st.Setpoint, p.st.Schedule, p.sensor)
		switch {
		case !p.decision.Act:
			p.wrote, p.written, p.retryAt = false, nil, 0
		case p.wrote && model.SameValue(p.written, p.decision.Value):
		case p.retryAt > now:
		default:
			todo = append(todo, write{p, p.decision.Value})
		}
		if t, ok := nextBoundary(p.st.Setpoint, p.st.Schedule, now); ok && (wake == 0 || t < wake) {
			wake = t
		}
		if p.retryAt > now && (wake == 0 || p.retryAt < wake) {
			wake = p.retryAt
		}
	}
	c.mu.Unlock()
	for _, w := range todo {
		if at := c.apply(ctx, w); at > 0 && (wake == 0 || at < wake) {
			wake = at
		}
	}
	if wake == 0 {
		return time.Hour
	}
	return time.Duration(max(wake-c.now(), 1)) * time.Millisecond
}

// apply writes one decided value; on failure it returns when to retry.
func (c *Controller) apply(ctx context.Context, w write) int64 {
	d, n := split(w.p.Actuator)
	_, err := c.bus.Write(bus.WithSource(ctx, bus.SourceControl), d, n, w.value)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		w.p.retryAt = c.now() + retryAfter.Milliseconds()
		c.log.Warn("control write failed; retrying", "device", d, "datapoint", n, "value", w.value, "reason", w.p.decision.Reason, "err", err)
		return w.p.retryAt
	}
	w.p.wrote, w.p.written, w.p.retryAt = true, w.value, 0
	c.log.Info("control wrote", "device", d, "datapoint", n, "value", w.value, "reason", w.p.decision.Reason)
	return 0
}

// Close implements sink.Sink; the state file is written on every change.
func (c *Controller) Close() error { return nil }
