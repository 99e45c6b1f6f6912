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
	if len(sums) != 5 {
		t.Fatalf("got %d summaries, want 5", len(sums))
	}
	for _, s := range sums {
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
