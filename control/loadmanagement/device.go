package loadmanagement

import (
	"context"
	"fmt"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// Register makes the loadmanagement device known on the bus with its
// inputs (actuators) and outputs, and publishes the inputs' start values.
func (c *Controller) Register() error {
	pts := []model.Datapoint{
		{Name: "max_total_cur_prc", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "%", Min: ptr(0), Max: ptr(100),
			Description: "share of site_max_current the chargers may use (like cFos max_total_cur_prc; not persisted)"}},
		{Name: "site_max_current", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "A",
			Description: "site_max_current of the configuration: A per phase before max_total_cur_prc"}},
		{Name: "mode", Meta: model.Meta{Kind: model.Actuator, Format: model.DiscreteText, Allowed: modesAny(),
			Description: "distribution: equal, priority, pv (surplus only) or price (while the price is below the limit)"}},
	}
	for _, ch := range c.chargers {
		pts = append(pts, chargerPoints(ch.Device, ch.MaxCurrent)...)
	}
	st := model.DeviceState{Device: DeviceID, Driver: DeviceID, Online: true, LastSeen: model.NowMs()}
	if err := c.bus.AddDevice(st, pts, inputWriter{c}, 0); err != nil {
		return fmt.Errorf("loadmanagement: %w", err)
	}
	in := c.snapshot()
	now := model.NowMs()
	vals := []model.Value{
		{Device: DeviceID, Name: "max_total_cur_prc", Value: in.prc, Time: now, Quality: model.Good},
		{Device: DeviceID, Name: "mode", Value: in.mode, Time: now, Quality: model.Good},
		{Device: DeviceID, Name: "site_max_current", Value: c.cfg.SiteMaxCurrent, Time: now, Quality: model.Good},
	}
	for _, ch := range c.chargers {
		vals = append(vals, model.Value{Device: DeviceID, Name: ch.Device + "_priority", Value: in.priority[ch.Device], Time: now, Quality: model.Good},
			model.Value{Device: DeviceID, Name: ch.Device + "_current_limit", Value: in.limit[ch.Device], Time: now, Quality: model.Good})
	}
	c.bus.Publish(vals...)
	return nil
}

func ptr(f float64) *float64 { return &f }

func modesAny() []any {
	var out []any
	for _, m := range Modes() {
		out = append(out, m)
	}
	return out
}

// chargerPoints are a charger's datapoints on the loadmanagement device.
func chargerPoints(dev string, maxA float64) []model.Datapoint {
	return []model.Datapoint{
		{Name: dev + "_priority", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Min: ptr(0), Max: ptr(100),
			Description: "priority of " + dev + ": higher gets its minimum (and in mode priority its maximum) first"}},
		{Name: dev + "_current_limit", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "A", Min: ptr(0), Max: ptr(maxA),
			Description: "run-time cap of " + dev + "'s current (A, not persisted; starts at its max_current; below its minimum it gets 0)"}},
		{Name: dev + "_allocated_current", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "A",
			Description: "current allocated to " + dev + " per phase (0 or at least its minimum)"}},
		{Name: dev + "_reason", Meta: model.Meta{Kind: model.Sensor, Format: model.GenericText,
			Description: "why " + dev + " got its allocation"}},
	}
}

// inputWriter applies writes to the loadmanagement device's inputs; the bus
// has checked the value against the limits already.
type inputWriter struct{ c *Controller }

// Write implements bus.Writer.
func (w inputWriter) Write(_ context.Context, name string, v any) (any, error) {
	c := w.c
	c.mu.Lock()
	switch {
	case name == "max_total_cur_prc":
		f, _ := model.AsFloat(v)
		c.in.prc, v = f, f
	case name == "mode":
		s, _ := v.(string)
		if !validMode(s) {
			c.mu.Unlock()
			return nil, fmt.Errorf("mode %q: want one of %s", model.Short(v), strings.Join(Modes(), ", "))
		}
		c.in.mode = s
	case strings.HasSuffix(name, "_priority"):
		dev := strings.TrimSuffix(name, "_priority")
		if _, ok := c.in.priority[dev]; !ok {
			c.mu.Unlock()
			return nil, fmt.Errorf("%s: not a managed charger", dev)
		}
		f, _ := model.AsFloat(v)
		c.in.priority[dev], v = f, f
	case strings.HasSuffix(name, "_current_limit"):
		dev := strings.TrimSuffix(name, "_current_limit")
		if _, ok := c.in.limit[dev]; !ok {
			c.mu.Unlock()
			return nil, fmt.Errorf("%s: not a managed charger", dev)
		}
		f, _ := model.AsFloat(v)
		c.in.limit[dev], v = f, f
	default:
		c.mu.Unlock()
		return nil, fmt.Errorf("%s is not an input", name)
	}
	c.mu.Unlock()
	c.bus.Publish(model.Value{Device: DeviceID, Name: name, Value: v, Time: model.NowMs(), Quality: model.Good})
	return v, nil
}

// Resolve finds the meter, the grid power datapoint and (without a
// chargers list) the chargers in the catalog; the Run loop calls it at
// start and whenever the catalog changes.
func (c *Controller) Resolve() {
	pts := c.bus.Datapoints()
	has := map[string]model.Kind{}
	roleGrid := ""
	var devices []string
	for _, p := range pts {
		if len(devices) == 0 || devices[len(devices)-1] != p.Device {
			devices = append(devices, p.Device)
		}
		has[p.Key()] = p.Kind
		if p.Role == "grid_power" && (roleGrid == "" || (c.cfg.Meter != "" && p.Device == c.cfg.Meter)) {
			roleGrid = p.Key()
		}
	}
	c.resolveMeter(roleGrid)
	if len(c.cfg.Chargers) == 0 {
		c.discover(devices, has)
	}
}

func (c *Controller) resolveMeter(roleGrid string) {
	meter, grid := c.cfg.Meter, c.cfg.GridPower
	if grid == "" {
		grid = roleGrid
	}
	if meter == "" && roleGrid != "" {
		meter, _, _ = strings.Cut(roleGrid, "/")
	}
	var cur, signs [3]string
	switch {
	case len(c.cfg.Currents) == 3:
		copy(cur[:], c.cfg.Currents)
	case meter != "":
		for p := range 3 {
			cur[p] = fmt.Sprintf("%s/current_l%d", meter, p+1)
			signs[p] = fmt.Sprintf("%s/ac_power_l%d", meter, p+1)
		}
	}
	c.signs = signs
	if cur != c.currents || grid != c.grid || !c.resolved {
		if cur[0] == "" {
			c.log.Warn("load management has no site meter (no meter, no currents, no datapoint with role grid_power): chargers stay at their safe current")
		} else {
			c.log.Info("load management inputs", "meter", meter, "currents", strings.Join(cur[:], ","), "grid_power", grid)
		}
	}
	c.meter, c.currents, c.grid, c.resolved = meter, cur, grid, true
}

// discover adds every device with actuators max_current and enabled as a
// charger, and drops chargers whose device is gone.
func (c *Controller) discover(devices []string, has map[string]model.Kind) {
	isCharger := func(d string) bool {
		return d != DeviceID && has[d+"/max_current"] == model.Actuator && has[d+"/enabled"] == model.Actuator
	}
	for _, d := range devices {
		if _, ok := c.byID[d]; ok || !isCharger(d) {
			continue
		}
		ch := c.addCharger(c.cfg.Defaults.resolve(Charger{Device: d}))
		if err := c.bus.AddDatapoints(DeviceID, chargerPoints(d, ch.MaxCurrent)...); err != nil {
			c.log.Warn("load management: charger datapoints", "device", d, "err", err)
		}
		now := model.NowMs()
		c.bus.Publish(model.Value{Device: DeviceID, Name: d + "_priority", Value: 0.0, Time: now, Quality: model.Good},
			model.Value{Device: DeviceID, Name: d + "_current_limit", Value: ch.MaxCurrent, Time: now, Quality: model.Good})
		c.log.Info("load management manages charger", "device", d)
	}
	kept := c.chargers[:0]
	for _, ch := range c.chargers {
		if isCharger(ch.Device) {
			kept = append(kept, ch)
			continue
		}
		delete(c.byID, ch.Device)
		c.mu.Lock()
		delete(c.in.priority, ch.Device)
		delete(c.in.limit, ch.Device)
		c.mu.Unlock()
		_ = c.bus.RemoveDatapoints(DeviceID, ch.Device+"_priority", ch.Device+"_current_limit", ch.Device+"_allocated_current", ch.Device+"_reason")
		c.log.Info("load management: charger gone", "device", ch.Device)
	}
	c.chargers = kept
}
