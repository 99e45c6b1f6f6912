package ocpp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/ocpp"
	"github.com/gridbox/gridbox/profile"
)

const deadline = 20 * time.Second

// startGateway runs a gateway from YAML; it is stopped at test end.
func startGateway(t *testing.T, src string, env map[string]string) *gateway.Gateway {
	t.Helper()
	cfg, err := config.Parse([]byte(src), "test.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
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
	t.Cleanup(func() {
		cancel()
		done := make(chan error, 1)
		go func() { done <- gw.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("gateway stopped with: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("gateway did not stop within 10 s")
		}
	})
	return gw
}

// nodeCP is the ocpp-rpc charge point of testdata/cp, run by node.
type nodeCP struct {
	t     *testing.T
	in    io.WriteCloser
	mu    sync.Mutex
	lines []map[string]any
	n     int
}

// startNodeCP runs testdata/cp/cp.js; node and its node_modules are required
// (CI installs both; locally a missing one skips).
func startNodeCP(t *testing.T, args ...string) *nodeCP {
	t.Helper()
	node := testenv.Tool(t, "node")
	dir, _ := filepath.Abs("testdata/cp")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ocpp-rpc")); err != nil {
		testenv.Missing(t, "ocpp-rpc is not installed: run npm install in %s", dir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(dir, "cp.js")}, args...)...)
	cmd.Stderr = testWriter{t}
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &nodeCP{t: t, in: in}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Logf("cp: %s", sc.Text())
				continue
			}
			c.mu.Lock()
			c.lines = append(c.lines, m)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		in.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		cancel()
		cmd.Wait()
	})
	return c
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("cp stderr: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}

// wait returns the first line that match accepts (polling).
func (c *nodeCP) wait(what string, match func(map[string]any) bool) map[string]any {
	c.t.Helper()
	var found map[string]any
	testenv.Eventually(c.t, deadline, what, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, m := range c.lines {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// all returns the lines that match.
func (c *nodeCP) all(match func(map[string]any) bool) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, m := range c.lines {
		if match(m) {
			out = append(out, m)
		}
	}
	return out
}

// count returns how many lines match.
func (c *nodeCP) count(match func(map[string]any) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.lines {
		if match(m) {
			n++
		}
	}
	return n
}

// call makes the charge point send action and returns its result line.
func (c *nodeCP) call(action string, params any) map[string]any {
	c.t.Helper()
	c.n++
	b, _ := json.Marshal(map[string]any{"call": action, "params": params})
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		c.t.Fatalf("cp stdin: %v", err)
	}
	id := float64(c.n)
	res := c.wait(action+" result", func(m map[string]any) bool { return m["result"] == id })
	if res["error"] != nil {
		c.t.Fatalf("%s: %v", action, res["error"])
	}
	return res["ok"].(map[string]any)
}

func incoming(action string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["incoming"] == action }
}

// getJSON GETs url into v and returns the status.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if v != nil && res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, b)
		}
	}
	return res.StatusCode
}

func uniquePrefix() string { return fmt.Sprintf("gbocpp%d", time.Now().UnixNano()) }

func newAuthPut(url, body, token string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return req, nil
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// startServer runs a central system for CP-001 (with password) on httptest
// with a real bus, its transactions in dir; it returns the ws:// endpoint.
func startServer(t *testing.T, dir, password string) (*ocpp.Server, *bus.Bus, string) {
	t.Helper()
	cfg := ocpp.Kind().NewConfig().(*ocpp.Config)
	cfg.DataDir = dir
	cfg.ChargePoints = []ocpp.ChargePoint{{ID: "CP-001", Password: password}}
	b := bus.New()
	s, err := ocpp.NewServer(cfg, b, ocpp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ocpp/", s)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { hs.CloseClientConnections(); hs.Close(); s.Wait(); s.Close() })
	return s, b, "ws" + strings.TrimPrefix(hs.URL, "http") + "/ocpp"
}
