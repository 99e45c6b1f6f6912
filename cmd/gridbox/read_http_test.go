package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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

// TestReadSocket reads the first JSON document a socat peer streams, with
// `gridbox read --driver socket` (tcp:// alone picks Modbus).
func TestReadSocket(t *testing.T) {
	socat := testenv.Tool(t, "socat")
	addr := testenv.FreeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	stream := filepath.Join(t.TempDir(), "stream.jsonl") // socat splits addresses at commas: the data goes in a file
	if err := os.WriteFile(stream, []byte("garbage\n{\"meter\": {\"power\": 1200.5}, \"phases\": [230, 231, 232.5]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(socat, "TCP-LISTEN:"+port+",bind=127.0.0.1,reuseaddr,fork", "SYSTEM:cat "+stream+"; sleep 10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	testenv.Eventually(t, 10*time.Second, "socat to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	code, out, errs := runCmd("read", "--driver", "socket", "--timeout", "10s", "tcp://"+addr, "meter.power", "phases.2", "nope")
	if code != exitRuntime || !strings.Contains(errs, "1 of 3 reads failed") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"meter.power", "1200.5  = 1200.5", "phases.2", "232.5  = 232.5", "nope", "no such path"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, _, errs = runCmd("read", "--driver", "socket", "tcp://"+addr+"?format=xml", "a")
	if code != exitUsage || !strings.Contains(errs, `format "xml": want json or yaml`) {
		t.Errorf("format xml: exit %d, %q", code, errs)
	}
}
