package scan

import (
	"github.com/gridbox/gridbox/driver/modbus"
)

// sunSpecBases are the addresses a SunSpec device may put its "SunS"
// marker at: 40000, 50000 and 0, and the off-by-one forms of devices that
// count registers from 1.
var sunSpecBases = []uint16{40000, 50000, 0, 39999, 49999, 1}

// sunSpecMarker is "SunS" in two registers.
var sunSpecMarker = [2]uint16{0x5375, 0x6e53}

// probes are the registers tried, in order, for one that answers with
// data when no profile matches a unit.
var probes = []struct {
	table string
	addr  uint16
}{
	{"holding", 0}, {"input", 0}, {"holding", 1}, {"input", 1}, {"holding", 100}, {"input", 100},
	{"holding", 1000}, {"input", 1000}, {"input", 30001}, {"holding", 40001}, {"input", 19000},
}

// identify tells what unit id at ep is: a SunSpec device, a device of a
// built-in profile, or a Modbus unit with a register that answered.
func identify(cl *client, ep string, id uint8, answer string, opts Options) Unit {
	u := Unit{Endpoint: ep, ID: id, Answer: answer, SunSpec: sunSpecBase(cl, id)}
	if u.SunSpec >= 0 {
		return u
	}
	u.AnswersAll = answersAll(cl, id)
	for _, name := range opts.Names {
		if !u.AnswersAll && matches(cl, id, name, opts) {
			u.Profiles = append(u.Profiles, name)
		}
	}
	if len(u.Profiles) == 0 {
		u.Probe = probe(cl, id)
	}
	return u
}

// canaries are addresses no device profile uses: a unit that answers them
// with data answers any address, so every profile would match it.
var canaries = []struct {
	table string
	addr  uint16
}{{"holding", 65534}, {"input", 65534}}

// answersAll reports whether unit id answers the canary addresses with data.
func answersAll(cl *client, id uint8) bool {
	for _, c := range canaries {
		if _, err := cl.read(id, c.table, c.addr, 1); err != nil {
			return false
		}
	}
	return true
}

// sunSpecBase returns the address of the "SunS" marker of unit id, or -1.
func sunSpecBase(cl *client, id uint8) int {
	for _, base := range sunSpecBases {
		regs, err := cl.read(id, "holding", base, 2)
		if err == nil && len(regs) == 2 && regs[0] == sunSpecMarker[0] && regs[1] == sunSpecMarker[1] {
			return int(base)
		}
	}
	return -1
}

// matches reports whether every register of a built-in Modbus profile
// answers with data. A profile of another driver never matches.
func matches(cl *client, id uint8, name string, opts Options) bool {
	data, source, err := opts.Profiles.Load(name)
	if err != nil {
		return false
	}
	p, err := modbus.ParseProfile(data, source)
	if err != nil || len(p.Registers) == 0 {
		return false
	}
	for _, r := range p.Registers {
		n := registerCount(r)
		var err error
		switch r.Table {
		case "coil", "discrete":
			err = cl.readBits(id, r.Table, r.Address, 1)
		case "input":
			_, err = cl.read(id, "input", r.Address, n)
		default:
			_, err = cl.read(id, "holding", r.Address, n)
		}
		if err != nil {
			return false
		}
	}
	return true
}

// registerCount is how many registers a register of a profile spans.
func registerCount(r modbus.Register) uint16 {
	switch r.Type {
	case "int32", "uint32", "float32":
		return 2
	case "int64", "uint64", "float64":
		return 4
	case "string":
		return max(r.Length, 1)
	}
	return 1
}

// probe returns the first of the probe registers that answers with data.
func probe(cl *client, id uint8) *Probe {
	for _, p := range probes {
		regs, err := cl.read(id, p.table, p.addr, 1)
		if err == nil && len(regs) == 1 {
			return &Probe{Table: p.table, Address: p.addr, Value: regs[0]}
		}
	}
	return nil
}
