package modbus

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

const demoRoomProfile = `
name: demo-room
driver: modbus
description: demo room
sign: no power datapoints
unit: 1
registers:
  - {name: temperature, table: input, address: 1, type: float16, order: BA, unit: °C}
  - {name: setpoint, table: holding, address: 1, type: float16, order: BA, unit: °C, kind: actuator, min: 15, max: 30}
`

func TestParseProfile(t *testing.T) {
	p, err := ParseProfile([]byte(demoRoomProfile), "demo-room.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "demo-room" || p.Unit == nil || *p.Unit != 1 || len(p.Registers) != 2 {
		t.Fatalf("profile = %+v", p)
	}
	dps := p.Datapoints()
	if len(dps) != 2 {
		t.Fatalf("datapoints = %v", dps)
	}
	sp := dps[1]
	if sp.Name != "setpoint" || sp.Kind != model.Actuator || sp.Format != model.ContinuousNumeric ||
		sp.Unit != "°C" || *sp.Min != 15 || *sp.Max != 30 {
		t.Fatalf("setpoint = %+v", sp)
	}
	if dps[0].Kind != model.Sensor {
		t.Fatalf("temperature kind = %s, want sensor", dps[0].Kind)
	}
}

func TestParseProfileErrors(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"unknown key", "name: x\ndriver: modbus\nregisters:\n  - {name: a, address: 1, type: int16, scael: 2}\n",
			[]string{"p.yaml", "line 4", "scael"}},
		{"unknown top key", "name: x\ndriver: modbus\nsigns: x\nregisters: []\n", []string{"line 3", "signs"}},
		{"bad register", "name: x\ndriver: modbus\nregisters:\n  - {name: a, address: 1, type: int16}\n  - {name: b, address: 2, type: float}\n",
			[]string{"p.yaml:5: registers[1].type: unknown type \"float\""}},
		{"wrong driver", "name: x\ndriver: http\nregisters:\n  - {name: a, address: 1, type: int16}\n", []string{"driver: profile is for driver \"http\""}},
		{"empty", "", []string{"empty profile"}},
		{"no registers", "name: x\ndriver: modbus\n", []string{"no registers"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProfile([]byte(tc.src), "p.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	_, err := ParseProfile([]byte("name: x\ndriver: modbus\nregisters:\n  - {name: a, address: 1, type: int16, order: XX}\n"), "p.yaml")
	var ce config.Errors
	if !errors.As(err, &ce) || len(ce) != 1 || ce[0].Line != 4 || ce[0].Path != "registers[0].order" {
		t.Fatalf("err = %#v, want config.Errors with line 4 and path registers[0].order", err)
	}
}

// TestBuiltinProfiles parses the built-in Modbus profiles (written by
// another engineer) when they are present.
func TestBuiltinProfiles(t *testing.T) {
	files, _ := filepath.Glob("../../profile/builtin/*.yaml")
	if len(files) == 0 {
		t.Skip("no built-in profiles in profile/builtin")
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "driver: modbus") {
			continue
		}
		p, err := ParseProfile(data, filepath.Base(file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if len(p.Datapoints()) == 0 {
			t.Errorf("%s: no datapoints", file)
		}
		if p.Name == "sma-stp" && (p.Unit == nil || *p.Unit != 3) {
			t.Errorf("sma-stp unit = %v, want 3", p.Unit)
		}
	}
}
