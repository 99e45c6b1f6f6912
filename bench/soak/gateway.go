package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// gateway is the gridbox process under test, built from this tree and
// run as `gridbox run -c soak.yaml`: a separate process, so that its
// memory, threads and file descriptors are its own.
type gateway struct {
	bin, dir, httpAddr string
	cmd                *exec.Cmd
	exited             chan struct{}
	exitErr            error
}

// buildGateway builds ./cmd/gridbox into dir (the bench runs from the
// module root, as `go run ./bench/soak`).
func buildGateway(dir string) (string, error) {
	bin := filepath.Join(dir, "gridbox")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gridbox")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gridbox (run the bench from the module root): %w", err)
	}
	return bin, nil
}

// soakConfig is the gateway's YAML: every simulated device polled every
// interval, the external broker with an offline buffer of buffer values,
// the embedded SQLite store and an open /metrics on loopback.
func soakConfig(devs []*simDevice, httpAddr, brokerURL, storeDir string, interval time.Duration, buffer, qos int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "site: soak\nlog: {level: warn}\n")
	fmt.Fprintf(&b, "http: {listen: %q, auth: none}\n", httpAddr)
	fmt.Fprintf(&b, "mqtt: {broker: %q, prefix: gridbox, buffer: %d, qos: %d}\n", brokerURL, buffer, qos)
	fmt.Fprintf(&b, "store: {path: %q}\ndevices:\n", storeDir)
	for _, d := range devs {
		fmt.Fprintf(&b, "  - {id: %s, driver: modbus, url: \"tcp://%s\", profile: %s, unit: %d, interval: %s, timeout: 1s}\n",
			d.id, d.addr, d.profile, d.unit, interval)
	}
	return b.String()
}

// startGateway writes config(httpAddr) and runs the gateway on it.
func startGateway(bin, dir string, config func(httpAddr string) string) (*gateway, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	g := &gateway{bin: bin, dir: dir, httpAddr: "127.0.0.1:" + port, exited: make(chan struct{})}
	path := filepath.Join(dir, "soak.yaml")
	if err := os.WriteFile(path, []byte(config(g.httpAddr)), 0o644); err != nil {
		return nil, fmt.Errorf("write gateway config: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "gateway.log"))
	if err != nil {
		return nil, err
	}
	g.cmd = exec.Command(bin, "run", "-c", path)
	// gctrace: one line per GC with the live heap it marked, the figure
	// that shows a leak (the heap in use swings with every GC cycle).
	g.cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	go func() { g.exitErr = g.cmd.Wait(); _ = logf.Close(); close(g.exited) }()
	for range 300 {
		if c, err := net.DialTimeout("tcp", g.httpAddr, 100*time.Millisecond); err == nil {
			_ = c.Close()
			return g, nil
		}
		select {
		case <-g.exited:
			return nil, fmt.Errorf("gateway exited at start: %v (log %s)", g.exitErr, filepath.Join(dir, "gateway.log"))
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("gateway does not listen on %s", g.httpAddr)
}

// stop sends SIGTERM (an orderly stop: the store writes what it holds) and
// waits for the process.
func (g *gateway) stop() error {
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal gateway: %w", err)
	}
	select {
	case <-g.exited:
	case <-time.After(60 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
		return fmt.Errorf("gateway did not stop within 60s of SIGTERM; killed")
	}
	if g.exitErr != nil {
		return fmt.Errorf("gateway exit: %w (log %s)", g.exitErr, filepath.Join(g.dir, "gateway.log"))
	}
	return nil
}

// metrics scrapes /metrics into "name{labels}" → value.
func (g *gateway) metrics() (map[string]float64, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + g.httpAddr + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the Prometheus text format (no timestamps).
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// sum adds the series of metric name (any labels).
func sum(m map[string]float64, name string) float64 {
	t := 0.0
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			t += v
		}
	}
	return t
}

// liveHeap is the median live heap (bytes) of the last n GC cycles in the
// gateway's gctrace output ("gc 12 @3.4s 1%: …, 40->42->21 MB, …": 21).
func (g *gateway) liveHeap(n int) (float64, error) {
	b, err := os.ReadFile(filepath.Join(g.dir, "gateway.log"))
	if err != nil {
		return 0, err
	}
	var live []float64
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0 && len(live) < n; i-- {
		if !strings.HasPrefix(lines[i], "gc ") {
			continue
		}
		for _, f := range strings.Split(lines[i], ",") {
			f = strings.TrimSpace(f)
			if !strings.HasSuffix(f, " MB") || strings.Count(f, "->") != 2 {
				continue
			}
			parts := strings.Split(strings.TrimSuffix(f, " MB"), "->")
			if v, err := strconv.ParseFloat(parts[2], 64); err == nil {
				live = append(live, v*(1<<20))
			}
		}
	}
	if len(live) == 0 {
		return 0, fmt.Errorf("no gctrace line in %s", filepath.Join(g.dir, "gateway.log"))
	}
	slices.Sort(live)
	return live[len(live)/2], nil
}

// procStatus reads VmRSS (bytes) and Threads of pid, and counts its fds.
func procStatus(pid int) (rss uint64, threads, fds int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "VmRSS:":
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			rss = kb * 1024
		case len(f) >= 2 && f[0] == "Threads:":
			threads, _ = strconv.Atoi(f[1])
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	return rss, threads, len(ents), nil
}
