package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/sim"
)

// TestMain lets the test binary act as gridbox itself, for tests that need a
// real process (kill -9): GRIDBOX_TEST_MAIN=1 ./gridbox.test run -c ...
func TestMain(m *testing.M) {
	if os.Getenv("GRIDBOX_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version"}, exitOK, "gridbox 0."},
		{[]string{}, exitUsage, "usage:"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"run", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"check", "-c", "/nonexistent/gridbox.yaml"}, exitUsage, "no such file"},
		{[]string{"sim", "no-such-device", "--listen", "127.0.0.1:0"}, exitUsage, "no-such-device"},
		{[]string{"read", "-h"}, exitOK, "usage: gridbox read [--driver NAME] URL"},
		{[]string{"read", "tcp://127.0.0.1:1", "holding:x:int16"}, exitUsage, "holding:x:int16"},
		{[]string{"read", "ftp://127.0.0.1:1", "holding:1:int16"}, exitUsage, "url"},
		{[]string{"read", "tcp://" + testenv.FreeAddr(t), "holding:1:int16", "--timeout", "200ms"}, exitRuntime, "1 of 1 reads failed"},
	}
	for _, c := range cases {
		code, out, errs := runCmd(c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("gridbox %v: exit %d, output %q; want exit %d containing %q", c.args, code, out+errs, c.code, c.want)
		}
	}
}

// TestCheckReportsEveryMistake: three different mistakes are all printed
// with line and key path, and check exits 2.
func TestCheckReportsEveryMistake(t *testing.T) {
	src := `site: home-42
http: {listen: ":8080", auth: none}
mqtt:
  broker: ftp://broker.local
store:
  path: ./data
  flush_intervall: 1s
devices:
  - id: meter
    driver: modbus
    url: tcp://127.0.0.1:502
    registers:
      - { name: power, table: input, address: 19026, type: float33 }
`
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte(src), 0o644)
	code, _, errs := runCmd("check", "-c", path)
	if code != exitUsage {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, errs)
	}
	for _, want := range []string{
		path + ":4: mqtt.broker:",
		path + ":7: store.flush_intervall: unknown key",
		path + ":13: devices[0].registers[0].type:",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("missing %q in:\n%s", want, errs)
		}
	}
	if !strings.Contains(errs, "3 config error(s)") {
		t.Errorf("want exactly 3 errors:\n%s", errs)
	}
}

func TestCheckAcceptsExample(t *testing.T) {
	t.Setenv("GRIDBOX_API_TOKEN", "secret")
	t.Setenv("GRIDBOX_MQTT_PASSWORD", "secret")
	code, out, errs := runCmd("check", "-c", "../../examples/gridbox.yaml")
	if code != exitOK || !strings.Contains(out, "ok (2 devices)") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

func TestProfilesListsBuiltins(t *testing.T) {
	code, out, errs := runCmd("profiles")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"demo-room", "sma-stp", "janitza-umg96rm", "ac_power", "pv_power", "grid_power", "setpoint"} {
		if !strings.Contains(out, want) {
			t.Errorf("profiles output lacks %q", want)
		}
	}
}

// TestDemo: `gridbox demo` serves the three simulated devices on MQTT, as an
// independent client (mosquitto_sub) sees, and stops cleanly on cancel.
func TestDemo(t *testing.T) {
	sub := requireTool(t, "mosquitto_sub")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb testenv.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0"}, &out, &errb)
	}()
	re := regexp.MustCompile(`mosquitto_sub -h (\S+) -p (\d+)`)
	deadline := time.Now().Add(15 * time.Second)
	for !re.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	m := re.FindStringSubmatch(out.String())
	time.Sleep(3 * time.Second)
	got, err := exec.Command(sub, "-h", m[1], "-p", m[2], "-t", "gridbox/#", "-v", "-W", "3").CombinedOutput()
	if err != nil && !strings.Contains(err.Error(), "exit status 27") { // 27: -W timeout reached
		t.Logf("mosquitto_sub: %v", err)
	}
	for _, want := range []string{"gridbox/room/temperature {", `gridbox/pv/ac_power {"value":12345,`, "gridbox/meter/ac_power {", "gridbox/$meta/room/setpoint {", "gridbox/$state {"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("mosquitto_sub output lacks %q:\n%s", want, got)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("demo exit %d:\n%s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop within 10 s of cancel")
	}
}

// writeRunConfig writes a config for a child gateway polling one simulator.
func writeRunConfig(t *testing.T, dir, simAddr, httpAddr string) string {
	src := fmt.Sprintf(`site: crash
http: {listen: %q, auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q, flush_interval: 100ms}
devices:
  - {id: meter, driver: modbus, url: "tcp://%s", profile: janitza-umg96rm, interval: 100ms}
`, httpAddr, filepath.Join(dir, "data"), simAddr)
	path := filepath.Join(dir, "gridbox.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func startChild(t *testing.T, cfg string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "run", "-c", cfg)
	cmd.Env = append(os.Environ(), "GRIDBOX_TEST_MAIN=1")
	var errb testenv.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("child stderr:\n%s", errb.String())
		}
	})
	return cmd
}

func requireTool(t *testing.T, name string) string { return testenv.Tool(t, name) }

// TestKill9KeepsStore: a gateway killed with SIGKILL during ingest restarts
// on the same store, which opens cleanly and still holds every value that
// had been committed (seen through the history API) before the kill.
func TestKill9KeepsStore(t *testing.T) {
	s, err := sim.Start(context.Background(), "janitza-umg96rm", "127.0.0.1:0", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dir := t.TempDir()
	httpAddr := testenv.FreeAddr(t)
	cfg := writeRunConfig(t, dir, s.Addr(), httpAddr)
	child := startChild(t, cfg)
	hist := "http://" + httpAddr + "/api/v1/datapoints/meter/ac_power/history?from=0"
	var before int
	deadline := time.Now().Add(30 * time.Second)
	for before < 30 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d values stored after 30 s", before)
		}
		time.Sleep(200 * time.Millisecond)
		before = countSamples(hist)
	}
	killedAt := time.Now().UnixMilli()
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()

	startChild(t, cfg)
	var after int
	deadline = time.Now().Add(30 * time.Second)
	for after == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		after = countSamples(fmt.Sprintf("%s&to=%d", hist, killedAt))
	}
	if after < before {
		t.Fatalf("after kill -9 the store holds %d values up to the kill, %d were committed before", after, before)
	}
}

func countSamples(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var h struct {
		Samples []json.RawMessage `json:"samples"`
	}
	if json.NewDecoder(resp.Body).Decode(&h) != nil {
		return 0
	}
	return len(h.Samples)
}
