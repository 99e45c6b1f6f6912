package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
)

// TestHugePublishRefused: a 20 MB publish to the demo's embedded broker, by
// mosquitto_pub over MQTT 3.1.1 and 5, is refused (the client is
// disconnected), the gateway's memory stays bounded, no log line repeats the
// payload, and the gateway goes on taking writes.
func TestHugePublishRefused(t *testing.T) {
	pub := requireTool(t, "mosquitto_pub")
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("7"), 20<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "demo", "--http", "127.0.0.1:0", "--mqtt", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "GRIDBOX_TEST_MAIN=1")
	var out, errb testenv.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("demo stderr:\n%s", shortLines(errb.String()))
		}
	}()
	mqttRe := regexp.MustCompile(`mosquitto_sub -h (\S+) -p (\d+)`)
	httpRe := regexp.MustCompile(`REST API  (http://\S+)/api/v1/datapoints`)
	deadline := time.Now().Add(30 * time.Second)
	for !mqttRe.MatchString(out.String()) || !httpRe.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("demo did not start:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	m := mqttRe.FindStringSubmatch(out.String())
	api := httpRe.FindStringSubmatch(out.String())[1]

	// MQTT 3.1.1: the broker reads the fixed header, sees 20 MB and closes
	// the connection. MQTT 5: the broker announced its limit in CONNACK, so
	// mosquitto_pub does not even send the packet (the broker's own
	// DISCONNECT 0x95 is checked byte by byte in the broker package).
	for _, version := range []string{"mqttv311", "mqttv5"} {
		res, err := exec.Command(pub, "-h", m[1], "-p", m[2], "-V", version, "-q", "1",
			"-t", "gridbox/room/setpoint/set", "-f", big).CombinedOutput()
		t.Logf("%s: mosquitto_pub: %v: %s", version, err, bytes.TrimSpace(res))
		if version == "mqttv311" && err == nil {
			t.Errorf("%s: mosquitto_pub of 20 MB succeeded; want the broker to disconnect it:\n%s", version, res)
		}
	}
	if rss := rssMB(t, cmd.Process.Pid); !raceEnabled && rss >= 60 {
		t.Errorf("RSS after the 20 MB publishes is %.1f MB, want < 60", rss)
	} else {
		t.Logf("RSS after the 20 MB publishes: %.1f MB", rss)
	}

	// The gateway carries on: a normal write is applied and read back.
	if res, err := exec.Command(pub, "-h", m[1], "-p", m[2], "-t", "gridbox/room/setpoint/set", "-m", "26").CombinedOutput(); err != nil {
		t.Fatalf("small write: %v: %s", err, res)
	}
	deadline = time.Now().Add(15 * time.Second)
	for setpoint(api) != 26 {
		if time.Now().After(deadline) {
			t.Fatalf("room/setpoint is %v, want 26 after the small write", setpoint(api))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(errb.String(), "packet too large") {
		t.Errorf("the refusal was not logged")
	}
	if n := testenv.Metric(t, api+"/metrics", `gridbox_broker_refused_total{reason="packet_too_large",sink="mqtt"}`); n < 1 {
		t.Errorf("gridbox_broker_refused_total{reason=packet_too_large} = %v, want ≥ 1", n)
	}
	sc := bufio.NewScanner(strings.NewReader(errb.String()))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(sc.Text()) > 1000 {
			t.Errorf("log line of %d bytes: %.200s…", len(sc.Text()), sc.Text())
		}
	}
}

// rssMB is the resident memory of a process, from /proc.
func rssMB(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return float64(kb) / 1024
}

// setpoint reads room/setpoint's last value from the REST API (-1 if none).
func setpoint(api string) float64 {
	resp, err := http.Get(api + "/api/v1/datapoints/room/setpoint")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var dp struct {
		Value *struct {
			Value float64 `json:"value"`
		} `json:"value"`
	}
	if json.NewDecoder(resp.Body).Decode(&dp) != nil || dp.Value == nil {
		return -1
	}
	return dp.Value.Value
}

// shortLines cuts every line of a log to 300 bytes for test output.
func shortLines(s string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		if len(line) > 300 {
			line = line[:300] + "…"
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
