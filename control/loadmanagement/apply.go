package loadmanagement

import (
	"context"
	"errors"
	"math"
	"strings"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// apply writes a charger's decision. Lowering comes first: switching to
// one phase is written before the current, switching to three after it.
// A charger at 0 gets max_current 0 — or, when its max_current does not
// accept 0, enabled false; one that load management disabled is enabled
// again after its current is written. A charger disabled by someone else
// is not active: it gets 0 but is never enabled by load management.
func (c *Controller) apply(ctx context.Context, ch *charger) {
	if ch.SwitchPhases != "" {
		if ch.phases == 1 {
			c.writePhases(ctx, ch)
		}
		defer func() {
			if ch.phases == 3 {
				c.writePhases(ctx, ch)
			}
		}()
	}
	switch {
	case ch.alloc > 0:
		c.writeCurrent(ctx, ch)
		if ch.wrote.hasEna && !ch.wrote.enabled {
			c.writeEnabled(ctx, ch, true)
		}
	case c.acceptsZero(ch.Device):
		c.writeCurrent(ctx, ch)
	default:
		c.writeEnabled(ctx, ch, false)
	}
}

// acceptsZero reports whether a charger's max_current may be written 0.
func (c *Controller) acceptsZero(device string) bool {
	meta, _, _, _ := c.bus.Datapoint(device, "max_current")
	return meta.Min == nil || *meta.Min <= 0
}

// holds reports whether a charger holds its decision (written and, where
// the device reports it, read back).
func (c *Controller) holds(ch *charger) bool {
	if ch.alloc > 0 || c.acceptsZero(ch.Device) {
		return !c.needs(ch.Device, "max_current", ch.alloc, ch.wrote.hasCur && sameNumber(ch.wrote.cur, ch.alloc))
	}
	return !c.needs(ch.Device, "enabled", false, ch.wrote.hasEna && !ch.wrote.enabled)
}

func (c *Controller) writeCurrent(ctx context.Context, ch *charger) {
	if c.needs(ch.Device, "max_current", ch.alloc, ch.wrote.hasCur && sameNumber(ch.wrote.cur, ch.alloc)) {
		if c.write(ctx, ch.Device, "max_current", ch.alloc) {
			ch.wrote.cur, ch.wrote.hasCur = ch.alloc, true
		}
	}
}

func (c *Controller) writeEnabled(ctx context.Context, ch *charger, on bool) {
	if c.needs(ch.Device, "enabled", on, ch.wrote.hasEna && ch.wrote.enabled == on) {
		if c.write(ctx, ch.Device, "enabled", on) {
			ch.wrote.enabled, ch.wrote.hasEna = on, true
		}
	}
}

func (c *Controller) writePhases(ctx context.Context, ch *charger) {
	d, n, _ := strings.Cut(ch.SwitchPhases, "/")
	want := float64(ch.phases)
	if c.needs(d, n, want, ch.wrote.hasPhases && ch.wrote.phases == ch.phases) {
		if c.write(ctx, d, n, want) {
			ch.wrote.phases, ch.wrote.hasPhases = ch.phases, true
		}
	}
}

// needs reports whether device/name must be written with want: it exists,
// and it was not written with want yet or the device reports another value.
func (c *Controller) needs(device, name string, want any, wrote bool) bool {
	_, v, has, known := c.bus.Datapoint(device, name)
	if !known {
		return false
	}
	if has && v.Quality == model.Good {
		if w, ok := want.(float64); ok {
			if got, ok := model.AsFloat(v.Value); ok && !sameNumber(got, w) {
				return true
			}
		} else if v.Value != want {
			return true
		}
	}
	return !wrote
}

// write writes one value with source loadmanagement; false when it failed.
func (c *Controller) write(ctx context.Context, device, name string, v any) bool {
	_, err := c.bus.Write(ctx, device, name, v)
	if err == nil {
		c.stats.writes.Add(1)
		return true
	}
	c.stats.writeErrors.Add(1)
	level := c.log.Warn
	if errors.Is(err, bus.ErrRateLimited) {
		level = c.log.Debug
	}
	level("load management write failed; retried next cycle", "device", device, "datapoint", name, "value", v, "err", err)
	return false
}

// sameNumber compares currents read back from a device (scaled registers)
// with what was written.
func sameNumber(a, b float64) bool { return math.Abs(a-b) < 0.05 }

// publish puts changed outputs on the bus.
func (c *Controller) publish(now int64) {
	var vals []model.Value
	for _, ch := range c.chargers {
		p := &ch.published
		if p.ok && p.alloc == ch.alloc && p.reason == ch.reason {
			continue
		}
		p.alloc, p.reason, p.ok = ch.alloc, ch.reason, true
		vals = append(vals,
			model.Value{Device: DeviceID, Name: ch.Device + "_allocated_current", Value: ch.alloc, Time: now, Quality: model.Good},
			model.Value{Device: DeviceID, Name: ch.Device + "_reason", Value: ch.reason, Time: now, Quality: model.Good})
	}
	if len(vals) > 0 {
		c.bus.Publish(vals...)
	}
}
