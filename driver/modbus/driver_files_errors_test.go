package modbus

import (
	"os"
	"strings"
	"testing"
)

// TestDriverFileErrors: bad entries are reported with the file, the line
// and the foreign key path.
func TestDriverFileErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"unknown field key", "{\"fields\": {\n \"P\": {\"register\": 1, \"regsiter\": 2}}}",
			[]string{"f.json:2: fields.P: unknown field \"regsiter\""}},
		{"bad datatype", "{\"fields\": {\"P\": {\"register\": 1, \"datatype\": \"float32\"}}}",
			[]string{"fields.P.datatype: unknown datatype \"float32\""}},
		{"words mismatch", "{\"fields\": {\"P\": {\"register\": 1, \"datatype\": \"float\"}}}",
			[]string{"fields.P.datatype: float takes 2 words, but words is 1"}},
		{"bit out of range", "{\"fields\": {\"b\": {\"register\": 1, \"start_bit\": 14, \"length_bits\": 4}}}",
			[]string{"fields.b.length_bits: 4 bits from bit 14"}},
		{"bad bit order", "{\"fields\": {\"b\": {\"register\": 1, \"start_bit\": 1, \"bit_order\": \"big\"}}}",
			[]string{"fields.b.bit_order: \"big\" is not lsb or msb"}},
		{"bad valuemap key", "{\"fields\": {\"v\": {\"register\": 1, \"words\": 2, \"valuemap\": {\"0xffff\": null}}}}",
			[]string{"fields.v.valuemap: key \"0xffff\" is not 0x and the 4 raw bytes"}},
		{"bad typecast", "{\"fields\": {\"v\": {\"register\": 1, \"typecast\": \"list\"}}}",
			[]string{"fields.v: unknown typecast \"list\""}},
		{"name clash", "{\"fields\": {\"P-1\": {\"register\": 1}, \"p_1\": {\"register\": 2}}}",
			[]string{"datapoint name \"p_1\" is also the name of fields.P-1"}},
		{"bad fncode", "{\"fields\": {\"v\": {\"register\": 1, \"fncode\": 1}}}",
			[]string{"fields.v.fncode: 1 is not supported"}},
		{"unknown top key", "{\"fields\": {}, \"fieldz\": {}}", []string{"fieldz: unknown key"}},
		{"no fields", "{\"common\": {}}", []string{"fields: the driver has no fields"}},
		{"bad struct char", "{\"read_holding_registers\": [{\"address\": 1, \"count\": 1, \"datatypes\": \">b\"}]}",
			[]string{"read_holding_registers[0].datatypes: \">b\": format character 'b' is not supported"}},
		{"count too small", "{\"read_holding_registers\": [{\"address\": 1, \"count\": 1, \"datatypes\": \">f\"}]}",
			[]string{"read_holding_registers[0].count: 1 registers, but \">f\" takes 2"}},
		{"stray factor", "{\"read_holding_registers\": [\n{\"address\": 10, \"count\": 4,\n \"datatypes\": \">ff\", \"scaling_factors\": {\"11\": 2}}]}",
			[]string{"f.json:3: read_holding_registers[0].scaling_factors.11: no value starts at address 11"}},
		{"unknown block key", "{\"read_coils\": [{\"address\": 1, \"count\": 1, \"units\": 2}]}",
			[]string{"read_coils[0].address: unknown field \"units\""}},
		{"unknown kind", "{\"read_holding_registers\": [], \"read_registers\": []}",
			[]string{"read_registers: unknown request kind"}},
		{"two write values", "{\"write_register\": [{\"address\": 1, \"datatypes\": \">hh\"}]}",
			[]string{"write_register[0].datatypes: \">hh\": a write block takes one value, not 2"}},
		{"neither", "{\"foo\": 1}", []string{"f.json: a JSON file that is neither"}},
		{"wrapped string", "{\"MODBUS_CONFIG\": \"{\\\"read_coils\\\": 3}\"}", []string{"read_coils: want a list of blocks"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseProfile([]byte(c.src), "f.json")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant %q", err, w)
				}
			}
		})
	}
}

// TestDriverFileNames: datapoint names of the example files: slugged
// datalogger keys; MODBUS_CONFIG keys with the device's unit unless the
// block has its own.
func TestDriverFileNames(t *testing.T) {
	data, err := os.ReadFile("testdata/driverfiles/datalogger.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseProfile(data, "datalogger.json")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, d := range p.Datapoints() {
		names[d.Name] = true
	}
	for _, n := range []string{"p_total", "e_total", "v_l1", "relay_fault"} {
		if !names[n] {
			t.Errorf("no datapoint %s in %v", n, names)
		}
	}
	if p.Name != "datalogger" {
		t.Errorf("name %q", p.Name)
	}
	data, err = os.ReadFile("testdata/driverfiles/modbus_config.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err = ParseProfile(data, "mc.json")
	if err != nil {
		t.Fatal(err)
	}
	regs := p.registersFor(7)
	got := map[string]bool{}
	for _, r := range regs {
		got[r.Name] = true
	}
	for _, n := range []string{"read_holding_registers__1__19002", "read_holding_registers__7__302", "read_holding_registers__2__404", "read_coils__7__12", "write_register__1__600"} {
		if !got[n] {
			t.Errorf("no datapoint %s in %v", n, got)
		}
	}
	// A wrapped MODBUS_CONFIG (the environment variable's JSON string).
	wrapped := `{"MODBUS_CONFIG": "{\"read_holding_registers\": [{\"address\": 5, \"count\": 1, \"datatypes\": \">h\"}]}"}`
	if p, err = ParseProfile([]byte(wrapped), "env.json"); err != nil || p.Datapoints()[0].Name != "read_holding_registers__1__5" {
		t.Fatalf("wrapped: %v %v", p, err)
	}
}

// TestPyStr: typecast str formats like Python's str().
func TestPyStr(t *testing.T) {
	for _, c := range []struct {
		x     float64
		float bool
		want  string
	}{{12, false, "12"}, {12, true, "12.0"}, {0.5, true, "0.5"}, {1e16, true, "1e+16"}, {1.5e-5, true, "1.5e-05"}, {-3, false, "-3"}, {123456.789, true, "123456.789"}} {
		if got := pyStr(c.x, c.float); got != c.want {
			t.Errorf("pyStr(%v, %v) = %q, want %q", c.x, c.float, got, c.want)
		}
	}
}

// FuzzDriverFile: whatever JSON a driver file holds, loading it gives a
// profile or an error, never a panic; a profile lists its datapoints.
func FuzzDriverFile(f *testing.F) {
	for _, file := range []string{"testdata/driverfiles/datalogger.json", "testdata/driverfiles/modbus_config.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile(data, "fuzz.json")
		if err != nil {
			return
		}
		// Checked for unit 1 at load; other unit ids may clash (a block of
		// unit 2 and one without a unit at the same address): the device
		// reports that as a duplicate name when it is built.
		if _, errs := compileRegisters(p.registersFor(1), "registers"); len(errs) > 0 {
			t.Fatalf("unit 1: %v", errs)
		}
		for _, u := range []uint8{0, 255} {
			_, _ = compileRegisters(p.registersFor(u), "registers")
		}
		_ = p.Datapoints()
	})
}

// FuzzStructFormat: any struct format string parses or errors, never panics.
func FuzzStructFormat(f *testing.F) {
	for _, s := range []string{">ffffffffff", "<hHf", "10f", "> I d", "@?e", "=qQ", "!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, _, err := parseStructFormat(s)
		if err == nil && len(items) > 4*len(s)*maxRegisters {
			t.Fatalf("%q gave %d items", s, len(items))
		}
	})
}
