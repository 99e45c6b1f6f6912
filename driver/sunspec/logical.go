package sunspec

import (
	"fmt"
	"strconv"

	"github.com/gridbox/gridbox/model"
)

// dpoint is one datapoint of a logical device and where its value is.
type dpoint struct {
	model.Datapoint
	unit    uint8
	inst    instance
	p       Point
	addr    uint16 // the point's first register
	sfAddr  int    // the scale factor's register; -1 without one
	sfConst int    // a scale factor the model fixes (sfAddr -1)
	negate  bool   // battery power: charging positive
	ctl     *control
}

// logical is one logical device: a common block (model 1) and the models
// after it up to the next common block.
type logical struct {
	id     string
	unit   uint8
	models []instance
	points []*dpoint
	byName map[string]*dpoint
}

// logicalID is the id of the n-th (0-based) logical device of a configured device.
func logicalID(base string, n int) string {
	if n == 0 {
		return base
	}
	return base + "_" + strconv.Itoa(n+1)
}

// buildLogical splits the layouts of a device's units into logical devices
// in chain order, unit after unit, and names their datapoints.
func buildLogical(base string, layouts []*Layout) []*logical {
	var out []*logical
	for _, l := range layouts {
		var cur *logical
		for _, in := range l.Models {
			if in.def == nil {
				continue
			}
			if in.ID == 1 || cur == nil {
				cur = &logical{id: logicalID(base, len(out)), unit: l.Unit}
				out = append(out, cur)
			}
			cur.models = append(cur.models, in)
		}
	}
	names := commonNames()
	for _, lg := range out {
		lg.name(names)
	}
	return out
}

// name makes the datapoints of a logical device. With models of more than
// one family, the names of the non-inverter families get a prefix
// (meter_, battery_, mppt_); MPPT modules are always mppt1_, mppt2_, ….
// A name taken by an earlier model gets "_<model id>" appended; a role goes
// to the first point that has it.
func (lg *logical) name(names namer) {
	families := map[Family]bool{}
	for _, in := range lg.models {
		if f := familyOf(in.ID); f != Common {
			families[f] = true
		}
	}
	prefixed := len(families) > 1
	lg.byName = map[string]*dpoint{}
	roles := map[string]bool{}
	for _, in := range lg.models {
		f := familyOf(in.ID)
		prefix := ""
		if prefixed {
			prefix = f.prefix()
		}
		for _, p := range in.def.Points {
			if p.Offset+p.Size <= in.Len+2 {
				lg.add(names, in, p, -1, prefix, roles)
			}
		}
		for k := range in.repeats() {
			for _, p := range in.def.Repeat.Points {
				lg.add(names, in, p, k, fmt.Sprintf("mppt%d_", k+1), roles)
			}
		}
	}
}

// add appends one point (k: the repeated block, -1 for the fixed part).
func (lg *logical) add(names namer, in instance, p Point, k int, prefix string, roles map[string]bool) {
	if p.Type == SunSSF || p.Type == Pad || (p.Name == "ID" && k < 0) || p.Name == "L" {
		return
	}
	f := familyOf(in.ID)
	name := prefix + names.pointName(in.ID, p.Name)
	if _, dup := lg.byName[name]; dup {
		name += "_" + strconv.Itoa(int(in.ID))
	}
	if _, dup := lg.byName[name]; dup {
		return // the same model twice in one logical device: the first one counts
	}
	addr := in.Addr + p.Offset
	if k >= 0 {
		addr = in.Addr + 2 + in.def.Len + uint16(k)*in.def.Repeat.Size + p.Offset
	}
	dp := &dpoint{unit: lg.unit, inst: in, p: p, addr: addr, sfAddr: -1}
	if p.SF != "" {
		if n, err := strconv.Atoi(p.SF); err == nil {
			dp.sfConst = n
		} else if sp := in.def.point(p.SF); sp != nil {
			dp.sfAddr = int(in.Addr + sp.Offset)
		}
	}
	desc := fmt.Sprintf("SunSpec model %d %s", in.ID, p.Name)
	if k >= 0 {
		desc = fmt.Sprintf("SunSpec model %d %s[%d].%s", in.ID, in.def.Repeat.Name, k+1, p.Name)
	}
	dp.Datapoint = model.Datapoint{Device: lg.id, Name: name, Meta: model.Meta{
		Kind: model.Sensor, Format: formatOf(p.Type), Unit: unitOf(p.Units), Description: desc,
	}}
	if r := role(in.ID, f, p.Name); r != "" && k < 0 && !roles[r] {
		roles[r] = true
		dp.Role = r
		dp.negate = r == "battery_power"
		if dp.negate {
			dp.Description += " (negated: charging positive)"
		}
	}
	if c := controlFor(in.ID, p.Name); c != nil {
		dp.ctl = c
		dp.Kind = model.Actuator
		dp.Min, dp.Max, dp.Allowed = c.min, c.max, c.allowed
		if c.allowed != nil {
			dp.Format = model.DiscreteNumeric
		}
	}
	lg.points = append(lg.points, dp)
	lg.byName[name] = dp
}

// datapoints lists the logical device's datapoints.
func (lg *logical) datapoints() []model.Datapoint {
	out := make([]model.Datapoint, len(lg.points))
	for i, p := range lg.points {
		out[i] = p.Datapoint
	}
	return out
}

// value decodes one datapoint from im; err is set for a bad scale factor
// or registers missing from the image.
func (dp *dpoint) value(im image) (any, error) {
	regs, ok := im.get(dp.addr, dp.p.Size)
	if !ok {
		return nil, fmt.Errorf("%s: registers %d+%d were not read", dp.Name, dp.addr, dp.p.Size)
	}
	v := decodeRaw(dp.p.Type, regs)
	if dp.p.SF != "" {
		var sf any = float64(dp.sfConst)
		if dp.sfAddr >= 0 {
			r, ok := im.get(uint16(dp.sfAddr), 1)
			if !ok {
				return nil, fmt.Errorf("%s: scale factor %s was not read", dp.Name, dp.p.SF)
			}
			sf = decodeRaw(SunSSF, r)
		}
		var err error
		if v, err = applySF(v, sf); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dp.Name, dp.p.SF, err)
		}
	}
	if f, ok := v.(float64); ok && dp.negate && f != 0 {
		v = -f
	}
	return v, nil
}

// samePoints reports whether two logical devices have the same datapoints
// (a rediscovery that changed nothing for them).
func samePoints(a, b *logical) bool {
	if a == nil || b == nil || len(a.points) != len(b.points) {
		return false
	}
	for i := range a.points {
		if a.points[i].Datapoint.Name != b.points[i].Datapoint.Name || a.points[i].Kind != b.points[i].Kind {
			return false
		}
	}
	return true
}
