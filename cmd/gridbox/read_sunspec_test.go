package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/sim"
)

// TestReadSunSpec: `gridbox read --driver sunspec URL` prints the models
// found (id, header address, length) and the values; --json works, and a
// SPEC limits the datapoints.
func TestReadSunSpec(t *testing.T) {
	s, err := sim.Start(context.Background(), "sunspec-int", "127.0.0.1:0", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	url := "tcp://" + s.Addr()
	code, out, errs := runCmd("read", "--driver", "sunspec", url)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	for _, want := range []string{`unit 1 marker                    [40000] 0x5375 0x6E53  = "SunS"`, `model 103                        [40070] L=50  = "inverter_three_phase"`,
		`model 203                        [40320] L=105  = "ac_meter_abcn"`,
		"device/ac_power                  [40084] 0x01A4  = 4200 W", "device_2/ac_power", "device/reactive_power",
		`device/serial_number`, `= "INT0001"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = runCmd("read", "--driver", "sunspec", url, "--json", "ac_power", "device_2/serial_number")
	if code != exitOK {
		t.Fatalf("--json: exit %d, stderr %s", code, errs)
	}
	var doc struct {
		Driver   string
		Readings []struct {
			Name  string
			Raw   string
			Value any
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	got := map[string]any{}
	for _, r := range doc.Readings {
		got[r.Name] = r.Value
	}
	if doc.Driver != "sunspec" || got["device/ac_power"] != 4200.0 || got["device_2/ac_power"] != -1500.0 ||
		got["device_2/serial_number"] != "MTR0001" || got["model 160"] != "mppt" || len(doc.Readings) != 12 {
		t.Errorf("--json readings %v", got)
	}
	code, _, errs = runCmd("read", "--driver", "sunspec", url, "no_such_point")
	if code != exitRuntime || !strings.Contains(errs, "1 of 10 reads failed") {
		t.Errorf("unknown point: exit %d, stderr %s", code, errs)
	}
}
