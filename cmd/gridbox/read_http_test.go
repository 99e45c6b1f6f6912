package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
)

// TestSimAndReadHTTP runs `gridbox sim fronius-solar-api --listen ADDR` and
// reads it with `gridbox read --driver http URL --profile fronius-solar-api`
// and with paths, as a user commissioning an inverter would.
func TestSimAndReadHTTP(t *testing.T) {
	addr := testenv.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var simOut, simErr testenv.Buffer
	done := make(chan int, 1)
	go func() { done <- cmdSim(ctx, []string{"fronius-solar-api", "--listen", addr}, &simOut, &simErr) }()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("sim exit %d: %s", code, simErr.String())
		}
	}()
	testenv.Eventually(t, 10*time.Second, "the simulator to listen", func() bool {
		return strings.Contains(simOut.String(), "simulating fronius-solar-api on http://"+addr)
	})

	code, out, errs := runCmd("read", "--driver", "http", "http://"+addr, "--profile", "fronius-solar-api")
	if code != exitOK {
		t.Fatalf("read: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"pv_power", "= 2500 W", "battery_power", "= 500 W", "battery_soc", "= 55.5 %"} {
		if !strings.Contains(out, want) {
			t.Errorf("read output lacks %q:\n%s", want, out)
		}
	}

	// Without --driver the scheme picks the driver; paths without a profile, as JSON.
	code, out, errs = runCmd("read", "--json", "http://"+addr+"/solar_api/v1/GetPowerFlowRealtimeData.fcgi",
		"Body.Data.Site.P_Grid", "Body.Data.Site.Mode", "Body.Data.NoSuch")
	if code != exitRuntime || !strings.Contains(errs, "1 of 3 reads failed") {
		t.Fatalf("read paths: exit %d, stderr %q", code, errs)
	}
	var doc struct {
		Driver   string
		Readings []struct {
			Name  string
			Value any
			Error string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Driver != "http" || len(doc.Readings) != 3 || doc.Readings[0].Value != -1200.0 ||
		doc.Readings[1].Value != "bidirectional" || !strings.Contains(doc.Readings[2].Error, "no such path") {
		t.Errorf("readings: %+v", doc)
	}

	// A per-meter profile without a meter id is a usage error naming the fix.
	code, _, errs = runCmd("read", "http://"+addr, "--profile", "ambus-net")
	if code != exitUsage || !strings.Contains(errs, "?unit=ID") {
		t.Errorf("ambus-net without a meter: exit %d, %q", code, errs)
	}
}
