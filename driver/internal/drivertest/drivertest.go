// Package drivertest runs a whole gateway from YAML for the end-to-end
// tests of the drivers, with small helpers for its REST API and its peers.
package drivertest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/profile"
	"gopkg.in/yaml.v3"
)

// Gateway runs a gateway from YAML until the test ends or stop is called.
func Gateway(t *testing.T, src string) (*gateway.Gateway, func()) {
	t.Helper()
	cfg, err := config.Parse([]byte(src), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v\n%s", err, src)
	}
	gw, err := gateway.New(cfg, gateway.Options{Version: "test", Profiles: profile.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := gw.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		done := make(chan error, 1)
		go func() { done <- gw.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("gateway stopped with: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("gateway did not stop within 15 s")
		}
	}
	t.Cleanup(stop)
	return gw, stop
}

// Value waits for a datapoint's value to satisfy ok and returns it.
func Value(t *testing.T, gw *gateway.Gateway, device, name string, ok func(any) bool) any {
	t.Helper()
	var last any
	testenv.Eventually(t, 20*time.Second, device+"/"+name, func() bool {
		_, v, has, _ := gw.Bus().Datapoint(device, name)
		last = v.Value
		return has && v.Quality == model.Good && ok(v.Value)
	})
	return last
}

// Equals is a Value condition.
func Equals(want any) func(any) bool { return func(v any) bool { return v == want } }

// Put sends a REST write and returns the status and body.
func Put(t *testing.T, gw *gateway.Gateway, device, name, body string) (int, string) {
	t.Helper()
	url := "http://" + gw.HTTPAddr() + "/api/v1/datapoints/" + device + "/" + name + "/value"
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// State returns a device's state as the REST API lists it.
func State(t *testing.T, gw *gateway.Gateway, device string) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + gw.HTTPAddr() + "/api/v1/devices")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return findDevice(doc, device)
}

// findDevice looks for an object with "device": id anywhere in doc.
func findDevice(doc any, id string) map[string]any {
	switch x := doc.(type) {
	case map[string]any:
		if x["device"] == id || x["id"] == id {
			return x
		}
		for _, v := range x {
			if m := findDevice(v, id); m != nil {
				return m
			}
		}
	case []any:
		for _, v := range x {
			if m := findDevice(v, id); m != nil {
				return m
			}
		}
	}
	return nil
}

// Metric reads one series of the gateway's /metrics (-1 if absent).
func Metric(t *testing.T, gw *gateway.Gateway, series string) float64 {
	t.Helper()
	return testenv.Metric(t, "http://"+gw.HTTPAddr()+"/metrics", series)
}

// Peer is a started outside program whose output is kept.
type Peer struct {
	Out  *testenv.Buffer
	Line string // the first line it printed
}

// StartPeer runs a program, waits for its first output line (like
// "LISTENING 40123") and keeps the rest; it is killed at test end.
func StartPeer(t *testing.T, name string, args ...string) *Peer {
	t.Helper()
	path := testenv.Tool(t, name)
	cmd := exec.Command(path, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Peer{Out: &testenv.Buffer{}}
	cmd.Stderr = p.Out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("%s %v: no first line: %v (%s)", name, args, err, p.Out.String())
	}
	p.Line = strings.TrimSpace(line)
	go func() { _, _ = io.Copy(p.Out, r) }()
	return p
}

// CheckSample decodes and validates every device of a sample config: a
// YAML file, or the first yaml block of a markdown file. A device of
// another driver than name is an error; so is a sample without devices.
func CheckSample(t *testing.T, path, name string, newConfig func() driver.Config) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	if strings.HasSuffix(path, ".md") {
		_, rest, ok := strings.Cut(src, "```yaml\n")
		block, _, ok2 := strings.Cut(rest, "```")
		if !ok || !ok2 {
			t.Fatalf("no yaml block in %s", path)
		}
		src = block
	}
	var doc struct {
		Devices []yaml.Node `yaml:"devices"`
	}
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(doc.Devices) == 0 {
		t.Fatalf("%s: no devices", path)
	}
	for i := range doc.Devices {
		n := &doc.Devices[i]
		c := newConfig()
		errs := config.Decode(n, c, fmt.Sprintf("devices[%d]", i))
		if len(errs) == 0 {
			errs = c.Validate()
		}
		if len(errs) > 0 {
			t.Errorf("%s devices[%d]: %v", path, i, config.Errors(errs))
		}
		var common config.DeviceCommon
		if err := n.Decode(&common); err != nil || common.Driver != name {
			t.Errorf("%s devices[%d]: driver %q, want %s", path, i, common.Driver, name)
		}
	}
}
