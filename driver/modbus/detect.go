package modbus

import (
	"context"
	"fmt"
	"slices"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Detect is an optional component of a device (an inverter's meter or
// battery): its registers are polled, and its datapoints added to the
// catalog, only once its probe register says the component is attached.
// Until then the probe is read once per poll.
type Detect struct {
	Name        string `yaml:"name"`        // the component, like meter
	Description string `yaml:"description"` // what the probe tells
	// Probe is the register that tells whether the component is attached;
	// name, kind and metadata are not needed.
	Probe Register `yaml:"probe"`
	// Present lists the probe values meaning "attached"; Absent those
	// meaning "not attached" (any other value means attached). Give one.
	// An exception answer to the probe means not attached.
	Present   []float64  `yaml:"present"`
	Absent    []float64  `yaml:"absent"`
	Registers []Register `yaml:"registers"`
}

// group is a compiled Detect.
type group struct {
	name     string
	probe    *field
	present  []float64
	absent   []float64
	fields   []*field
	found    bool
	probeErr string // last probe problem logged
}

// attached reports whether a probe value means the component is there.
func (g *group) attached(v any) bool {
	x, ok := model.AsFloat(v)
	if !ok {
		return false // null: not available
	}
	if len(g.present) > 0 {
		return slices.Contains(g.present, x)
	}
	return !slices.Contains(g.absent, x)
}

// checkDetect reports problems of a profile's detect list, including
// register names also used by the static registers or another component.
func checkDetect(ds []Detect, static []Register) []config.FieldError {
	_, errs := compileGroups(ds, nil)
	seen := map[string]string{}
	for _, r := range static {
		seen[r.Name] = "registers"
	}
	for i, d := range ds {
		for j, r := range d.Registers {
			p := fmt.Sprintf("detect[%d].registers[%d].name", i, j)
			if other, dup := seen[r.Name]; dup && r.Name != "" {
				errs = append(errs, config.Errf(p, "duplicate name %q (also in %s)", r.Name, other))
			}
			seen[r.Name] = fmt.Sprintf("detect[%d]", i)
		}
	}
	return errs
}

// compileGroups compiles the detect list; registers named in skip (inline
// registers of the device, which win) are left out of their component.
func compileGroups(ds []Detect, skip map[string]bool) ([]*group, []config.FieldError) {
	var errs []config.FieldError
	groups := make([]*group, 0, len(ds))
	names := map[string]bool{}
	for i, d := range ds {
		prefix := fmt.Sprintf("detect[%d]", i)
		add := func(path, format string, args ...any) {
			errs = append(errs, config.Errf(prefix+"."+path, format, args...))
		}
		if !model.ValidID(d.Name) {
			add("name", "%q is not a valid name (a slug: [a-z0-9][a-z0-9_-]*)", d.Name)
		} else if names[d.Name] {
			add("name", "duplicate component %q", d.Name)
		}
		names[d.Name] = true
		if (len(d.Present) == 0) == (len(d.Absent) == 0) {
			add("present", "give either present or absent probe values")
		}
		if len(d.Registers) == 0 {
			add("registers", "component %q has no registers", d.Name)
		}
		probe := d.Probe
		if probe.Name == "" {
			probe.Name = d.Name + "_probe"
		}
		pf, perrs := compileRegister(probe)
		for _, e := range perrs {
			e.Path = prefix + ".probe." + e.Path
			errs = append(errs, e)
		}
		if pf.kind == model.Actuator {
			add("probe.kind", "a probe is read, not written")
		}
		var regs []Register
		for _, r := range d.Registers {
			if !skip[r.Name] {
				regs = append(regs, r)
			}
		}
		fields, ferrs := compileRegisters(regs, prefix+".registers")
		errs = append(errs, ferrs...)
		groups = append(groups, &group{name: d.Name, probe: pf, present: d.Present, absent: d.Absent, fields: fields})
	}
	return groups, errs
}

// DetectDatapoints lists the datapoints of the profile's detectable
// components (without device), added to a device when detected.
func (p *Profile) DetectDatapoints() []model.Datapoint {
	groups, _ := compileGroups(p.Detect, nil)
	var out []model.Datapoint
	for _, g := range groups {
		for _, f := range g.fields {
			out = append(out, f.datapoint())
		}
	}
	return out
}

// detect probes every component not found yet. A found component's fields
// join the poll plan and its datapoints are added to the catalog before
// any of its values is published.
func (d *Device) detect(ctx context.Context) {
	for _, g := range d.groups {
		if g.found || ctx.Err() != nil {
			continue
		}
		regs, _, err := d.readField(ctx, g.probe)
		if err != nil {
			d.probeProblem(g, err)
			if !isException(err) {
				return // the device is not reachable: readAll reports it
			}
			continue
		}
		v, err := g.probe.decode(regs)
		if err != nil {
			d.probeProblem(g, err)
			continue
		}
		if !g.attached(v) {
			d.probeProblem(g, fmt.Errorf("not attached (probe %s %d = %v)", g.probe.table, g.probe.reg.Address, fmtValue(v)))
			continue
		}
		d.addGroup(g)
	}
}

// probeProblem logs once per component and reason why it is not detected.
func (d *Device) probeProblem(g *group, err error) {
	if g.probeErr == err.Error() {
		return
	}
	g.probeErr = err.Error()
	d.log.Debug("modbus component not detected", "component", g.name, "err", err)
}

// addGroup adds a detected component's fields to the device.
func (d *Device) addGroup(g *group) {
	g.found = true
	points := make([]model.Datapoint, 0, len(g.fields))
	d.mu.Lock()
	for _, f := range g.fields {
		d.fields = append(d.fields, f)
		d.byName[f.reg.Name] = f
		p := f.datapoint()
		p.Device = d.id
		points = append(points, p)
	}
	fields := append([]*field(nil), d.fields...)
	d.mu.Unlock()
	d.planMu.Lock()
	d.plan = makePlan(fields, d.cfg.MaxGap, d.cfg.MaxRegisters)
	d.planMu.Unlock()
	d.log.Info("modbus component detected", "component", g.name, "datapoints", len(points))
	if d.catalog == nil {
		return
	}
	if err := d.catalog.AddDatapoints(d.id, points...); err != nil {
		d.log.Warn("modbus component datapoints not added", "component", g.name, "err", err)
	}
}
