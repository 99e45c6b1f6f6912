package profile

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummaries(t *testing.T) {
	sums, err := Builtin().Summaries()
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != len(Builtin().Names()) {
		t.Fatalf("got %d summaries, want %d", len(sums), len(Builtin().Names()))
	}
	for _, s := range sums {
		if s.Driver == "http" {
			checkHTTPSummary(t, s)
			continue
		}
		if s.Driver != "modbus" { // checked against their drivers in driver_test.go
			if s.Description == "" || s.Sign == "" || len(s.Datapoints) == 0 {
				t.Errorf("%s: description %q, sign %q, %d datapoints", s.Name, s.Description, s.Sign, len(s.Datapoints))
			}
			continue
		}
		want := expected()[s.Name]
		if s.Driver != "modbus" || s.Description == "" || s.Sign == "" || len(s.Datapoints) != len(want) {
			t.Errorf("%s: driver %q, description %q, sign %q, %d datapoints (want modbus, set, set, %d)",
				s.Name, s.Driver, s.Description, s.Sign, len(s.Datapoints), len(want))
			continue
		}
		for i, d := range s.Datapoints {
			kind := want[i].kind
			if kind == "" {
				kind = "sensor"
			}
			if d.Name != want[i].name || d.Kind != kind || d.Unit != want[i].unit || d.Role != want[i].role || d.Description == "" {
				t.Errorf("%s datapoint %d = %+v, want %+v with kind %s and a description", s.Name, i, d, want[i], kind)
			}
		}
	}
}

func TestWriteListAlignsColumns(t *testing.T) {
	sums := []Summary{{
		Name: "meter", Driver: "modbus", Description: "A meter", Sign: "import positive",
		Datapoints: []DatapointSummary{
			{Name: "ac_power", Kind: "sensor", Unit: "W", Role: "grid_power", Description: "Total power"},
			{Name: "temperature", Kind: "sensor", Unit: "°C", Description: "Temperature"},
		},
	}}
	var b bytes.Buffer
	WriteList(&b, sums)
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("got %d lines, want 6:\n%s", len(lines), b.String())
	}
	if lines[0] != "meter (driver modbus)" || lines[1] != "  A meter" || lines[2] != "  sign: import positive" {
		t.Errorf("header lines:\n%s", strings.Join(lines[:3], "\n"))
	}
	col := func(line, word string) int { return len([]rune(line[:strings.Index(line, word)])) }
	header, power, temp := lines[3], lines[4], lines[5]
	if col(header, "ROLE") != col(power, "grid_power") || col(header, "ROLE") != col(temp, "- ") {
		t.Errorf("ROLE column not aligned:\n%s", strings.Join(lines[3:], "\n"))
	}
	if col(header, "DESCRIPTION") != col(power, "Total power") || col(header, "DESCRIPTION") != col(temp, "Temperature") {
		t.Errorf("DESCRIPTION column not aligned:\n%s", strings.Join(lines[3:], "\n"))
	}
}

func TestWriteListBuiltins(t *testing.T) {
	sums, err := Builtin().Summaries()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	WriteList(&b, sums)
	for _, want := range []string{"demo-room (driver modbus)", "sma-stp (driver modbus)", "janitza-umg96rm (driver modbus)", "pv_power", "grid_power", "actuator"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("listing lacks %q:\n%s", want, b.String())
		}
	}
}

// checkHTTPSummary: an HTTP profile's summary lists its datapoints (from the
// datapoints key) with kinds and roles.
func checkHTTPSummary(t *testing.T, s Summary) {
	t.Helper()
	want := map[string][]string{ // name:kind:role of each datapoint
		"fronius-solar-api": {"pv_power:sensor:pv_power", "grid_power:sensor:grid_power", "load_power:sensor:",
			"battery_power:sensor:battery_power", "battery_soc:sensor:battery_soc", "energy_total:sensor:"},
		"senertec-dachs": {"electric_power:sensor:", "energy_electric:sensor:", "energy_thermal:sensor:",
			"starts:sensor:", "fault:sensor:", "glt_request:actuator:"},
		"ambus-net": {"heat_power:sensor:", "flow:sensor:", "heat_energy:sensor:", "flow_temperature:sensor:", "return_temperature:sensor:"},
	}[s.Name]
	var got []string
	for _, d := range s.Datapoints {
		got = append(got, d.Name+":"+d.Kind+":"+d.Role)
	}
	if s.Description == "" || s.Sign == "" || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s: description %q sign %q datapoints %v, want %v", s.Name, s.Description, s.Sign, got, want)
	}
}
