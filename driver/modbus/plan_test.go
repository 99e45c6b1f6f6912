package modbus

import (
	"fmt"
	"strings"
	"testing"
)

// smaSTPRegisters is the sma-stp register map of docs/profiles.md.
func smaSTPRegisters() []Register {
	r := func(name string, addr uint16, typ string, scale float64) Register {
		return Register{Name: name, Address: addr, Type: typ, Scale: scale}
	}
	return []Register{
		r("device_class", 30051, "uint32", 0), r("device_type", 30053, "uint32", 0),
		r("serial_number", 30057, "uint32", 0), r("status", 30201, "uint32", 0),
		r("energy_total", 30529, "uint32", 0), r("ac_power", 30775, "int32", 0),
		r("ac_power_l1", 30777, "int32", 0), r("ac_power_l2", 30779, "int32", 0),
		r("ac_power_l3", 30781, "int32", 0), r("voltage_l1", 30783, "uint32", 0.01),
		r("voltage_l2", 30785, "uint32", 0.01), r("voltage_l3", 30787, "uint32", 0.01),
		r("frequency", 30803, "uint32", 0.01), r("temperature", 30953, "int32", 0.1),
	}
}

func mustFields(t testing.TB, regs []Register) []*field {
	t.Helper()
	fields, errs := compileRegisters(regs, "registers")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return fields
}

func planString(p []read) string {
	s := make([]string, len(p))
	for i, r := range p {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

func TestMakePlan(t *testing.T) {
	seq := func(table string, from, n int, typ string) []Register {
		var out []Register
		for i := 0; i < n; i++ {
			out = append(out, Register{Name: fmt.Sprintf("%s%d", table, from+i), Table: table, Address: uint16(from + i), Type: typ})
		}
		return out
	}
	cases := []struct {
		name    string
		regs    []Register
		gap     int
		maxRegs int
		want    string
	}{
		{"sma-stp", smaSTPRegisters(), 10, 125,
			"holding 8@30051, holding 2@30201, holding 2@30529, holding 14@30775, holding 2@30803, holding 2@30953"},
		{"sma-stp gap 20 joins frequency", smaSTPRegisters(), 20, 125,
			"holding 8@30051, holding 2@30201, holding 2@30529, holding 30@30775, holding 2@30953"},
		{"gap exactly max_gap merges", []Register{{Name: "a", Address: 0, Type: "uint16"}, {Name: "b", Address: 11, Type: "uint16"}}, 10, 125,
			"holding 12@0"},
		{"gap above max_gap splits", []Register{{Name: "a", Address: 0, Type: "uint16"}, {Name: "b", Address: 12, Type: "uint16"}}, 10, 125,
			"holding 1@0, holding 1@12"},
		{"max_gap 0 joins only neighbours", []Register{{Name: "a", Address: 0, Type: "uint32"}, {Name: "b", Address: 2, Type: "uint16"}, {Name: "c", Address: 4, Type: "uint16"}}, 0, 125,
			"holding 3@0, holding 1@4"},
		{"max_registers limit", seq("holding", 0, 200, "uint16"), 10, 125, "holding 125@0, holding 75@125"},
		{"small max_registers", []Register{{Name: "a", Address: 0, Type: "uint32"}, {Name: "b", Address: 2, Type: "uint32"}, {Name: "c", Address: 4, Type: "uint32"}}, 10, 4,
			"holding 4@0, holding 2@4"},
		{"tables kept apart and ordered", append(append(seq("input", 5, 2, "uint16"), seq("holding", 5, 2, "uint16")...), seq("coil", 0, 3, "bool")...), 10, 125,
			"holding 2@5, input 2@5, coil 3@0"},
		{"coils up to 2000 bits", seq("coil", 0, 2001, "bool"), 10, 125, "coil 2000@0, coil 1@2000"},
		{"bit fields share a register", []Register{{Name: "a", Address: 7, Type: "bool", Bit: u8(0)}, {Name: "b", Address: 7, Type: "bool", Bit: u8(1)}}, 10, 125,
			"holding 1@7"},
		{"overlapping field", []Register{{Name: "a", Address: 0, Type: "uint64"}, {Name: "b", Address: 1, Type: "uint16"}}, 0, 125, "holding 4@0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := makePlan(mustFields(t, tc.regs), tc.gap, tc.maxRegs)
			if got := planString(p); got != tc.want {
				t.Fatalf("plan = %s\nwant   %s", got, tc.want)
			}
			n := 0
			for _, r := range p {
				n += len(r.fields)
			}
			if n != len(tc.regs) {
				t.Fatalf("plan covers %d fields, want %d", n, len(tc.regs))
			}
		})
	}
}

func TestSplit(t *testing.T) {
	p := makePlan(mustFields(t, smaSTPRegisters()), 10, 125)
	r := p[3] // holding 14@30775, 7 fields
	a, b, ok := split(r)
	if !ok || a.String() != "holding 6@30775" || b.String() != "holding 8@30781" {
		t.Fatalf("split %s = %s + %s (%v)", r, a, b, ok)
	}
	if len(a.fields)+len(b.fields) != len(r.fields) {
		t.Fatalf("split lost fields")
	}
	one := read{table: holding, start: 1, count: 2, fields: r.fields[:1]}
	if _, _, ok := split(one); ok {
		t.Fatal("single-field read was split")
	}
}
