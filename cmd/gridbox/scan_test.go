package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/sim"
)

func startSim(t *testing.T, name string) string {
	t.Helper()
	s, err := sim.Start(context.Background(), name, "127.0.0.1:0", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr()
}

// TestScanSimulators is the scan's acceptance: over two simulators — one
// found in a /24 on loopback, one named — `gridbox scan` prints a devices
// list that, pasted into a config, `gridbox check` accepts and `gridbox run`
// reads: both devices come online with values.
func TestScanSimulators(t *testing.T) {
	sma, janitza := startSim(t, "sma-stp"), startSim(t, "janitza-umg96rm")
	_, smaPort, _ := net.SplitHostPort(sma)
	code, out, errs := runCmd("scan", "127.0.0.0/24:"+smaPort, "--units", "1-5", janitza, "--timeout", "2s")
	if code != exitOK {
		t.Fatalf("scan: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, want := range []string{"scan: 255/255 endpoints, 2 accepting a connection, 2 units", "scan: " + sma + ": units 3", "scan: " + janitza + ": units 1"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("    url: \"tcp://%s\"\n    unit: 3\n    profile: sma-stp\n", sma),
		fmt.Sprintf("    url: \"tcp://%s\"\n    unit: 1\n    profile: janitza-umg96rm\n", janitza),
		"every register of profile sma-stp answered",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "gridbox.yaml")
	cfg := fmt.Sprintf("site: scan\nhttp: {listen: \"127.0.0.1:0\", auth: none}\nmqtt: []\nstore: {path: %q}\n", filepath.Join(dir, "data")) + out
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCmd("check", "-c", path); code != exitOK {
		t.Fatalf("check: exit %d: %s\n%s", code, errs, cfg)
	}

	ids := regexp.MustCompile(`(?m)^  - id: (\S+)$`).FindAllStringSubmatch(out, -1)
	if len(ids) != 2 {
		t.Fatalf("ids %v in\n%s", ids, out)
	}
	loaded, code := loadConfig(path, os.Stderr)
	if loaded == nil {
		t.Fatalf("load: exit %d", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var gw *gateway.Gateway
	done := make(chan int)
	go func() {
		done <- runGateway(ctx, loaded, slog.New(slog.DiscardHandler), &testenv.Buffer{}, func(g *gateway.Gateway) {
			mu.Lock()
			gw = g
			mu.Unlock()
		}, nil)
	}()
	t.Cleanup(func() { cancel(); <-done })
	testenv.Eventually(t, 30*time.Second, "both scanned devices online with values", func() bool {
		mu.Lock()
		g := gw
		mu.Unlock()
		if g == nil {
			return false
		}
		for _, id := range ids {
			st, ok := g.Bus().Device(id[1])
			if !ok || !st.Online || st.Polls == 0 {
				return false
			}
		}
		n := 0
		for _, p := range g.Bus().Datapoints() {
			if p.Last != nil && p.Last.Quality == "good" {
				n++
			}
		}
		return n > 10
	})
}

// TestScanUsage checks the command line's mistakes.
func TestScanUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"scan"}, "no targets"},
		{[]string{"scan", "127.0.0.1:502", "--units", "300"}, `"300" is not a unit id in 0..247`},
		{[]string{"scan", "127.0.0.1"}, "want host:port or CIDR:port"},
		{[]string{"scan", "127.0.0.1:502", "--timeout", "0s"}, "--timeout 0s: must be positive"},
		{[]string{"scan", "127.0.0.1:502", "--bogus"}, "flag provided but not defined: -bogus"},
	} {
		code, out, errs := runCmd(c.args...)
		if code != exitUsage || out != "" || !strings.Contains(errs, c.want) || !strings.Contains(errs, "usage: gridbox scan") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", c.args, code, out, errs, c.want)
		}
	}
	if code, out, errs := runCmd("scan", "-h"); code != exitOK || !strings.Contains(errs, "usage: gridbox scan") || out != "" {
		t.Errorf("scan -h: %d %q %q", code, out, errs)
	}
	// Nothing answers: an empty list and exit 1.
	free := testenv.FreeAddr(t)
	if code, out, _ := runCmd("scan", free, "--units", "1"); code != exitRuntime || out != "devices: [] # no Modbus unit answered\n" {
		t.Errorf("scan of a closed port: %d %q", code, out)
	}
}
