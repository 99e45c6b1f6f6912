package socket

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"
)

// feed runs testdata/feed.py (Python's socketserver) on addr serving file;
// conns reports how many connections it has taken.
type feed struct {
	mu    sync.Mutex
	conns int
}

func (f *feed) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

func startFeed(t *testing.T, addr, file string) *feed {
	t.Helper()
	py := testenv.Tool(t, "python3")
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	cmd := exec.Command(py, "testdata/feed.py", port, "testdata/"+file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testenv.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	f := &feed{}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ready <- sc.Scan() && sc.Text() == "ready"
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "conn ") {
				f.mu.Lock()
				f.conns++
				f.mu.Unlock()
			}
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("feed.py did not start: %s", stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("feed.py not ready: %s", stderr.String())
	}
	return f
}

// sink records values and the last state.
type sink struct {
	mu    sync.Mutex
	vals  map[string]model.Value
	state model.DeviceState
	errs  uint64
}

func (s *sink) Publish(vals ...model.Value) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vals {
		s.vals[v.Name] = v
	}
}

func (s *sink) SetState(st model.DeviceState, _, errs uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state, s.errs = st, s.errs+errs
}

func (s *sink) MarkStale(string, int64) {}

func (s *sink) value(name string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vals[name].Value
}

func (s *sink) snapshot() (model.DeviceState, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.errs
}

// run decodes a device like the gateway and runs it until the test ends.
func run(t *testing.T, src string) (*sink, *prometheus.Registry) {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	c := NewConfig()
	errs := config.Decode(root.Content[0], c, "d")
	if len(errs) == 0 {
		errs = c.Validate()
	}
	if len(errs) > 0 {
		t.Fatalf("config: %v", config.Errors(errs))
	}
	reg := prometheus.NewRegistry()
	dev, err := New().NewDevice(c, driver.Env{Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{vals: map[string]model.Value{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dev.Run(ctx, s) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of cancel")
		}
	})
	return s, reg
}

// count reads a counter of reg by name and labels ("kind=type").
func count(reg *prometheus.Registry, name string, labels ...string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				if have[k] != v {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

const points = `[{name: power, path: meter.power, unit: W, role: grid_power}, {name: energy, path: meter.energy, unit: Wh},
 {name: voltage_l3, path: phases.2, unit: V}]`

// TestJSONLines: one document per line from a plain TCP server; a garbage
// line, a wrong type and an oversized line are counted and skipped; a
// silent connection is dropped after the timeout and reopened.
func TestJSONLines(t *testing.T) {
	addr := testenv.FreeAddr(t)
	f := startFeed(t, addr, "lines.jsonl")
	s, reg := run(t, fmt.Sprintf("{id: m, driver: socket, url: \"tcp://%s\", format: json, timeout: 500ms, backoff: 50ms, max_document: 1000, datapoints: %s}", addr, points))
	testenv.Eventually(t, 20*time.Second, "the last good line", func() bool { return s.value("power") == 1400.0 })
	if v := s.value("voltage_l3"); v != 229.0 {
		t.Errorf("voltage_l3 = %v, want 229", v)
	}
	for _, kind := range []string{"malformed", "type", "oversized"} {
		if n := count(reg, "gridbox_socket_errors_total", "device=m", "kind="+kind); n < 1 {
			t.Errorf("errors{kind=%s} = %v, want ≥ 1", kind, n)
		}
	}
	testenv.Eventually(t, 20*time.Second, "a reconnect after the timeout", func() bool {
		return f.count() >= 2 && count(reg, "gridbox_socket_errors_total", "device=m", "kind=timeout") >= 1
	})
	testenv.Eventually(t, 20*time.Second, "documents of the second connection", func() bool {
		return count(reg, "gridbox_socket_documents_total", "device=m") >= 8
	})
	if _, errs := s.snapshot(); errs < 4 {
		t.Errorf("state errors = %d, want ≥ 4", errs)
	}
}

// TestYAMLDocuments: YAML documents separated by ---, a broken one counted.
func TestYAMLDocuments(t *testing.T) {
	addr := testenv.FreeAddr(t)
	startFeed(t, addr, "docs.yaml")
	s, reg := run(t, fmt.Sprintf("{id: m, driver: socket, url: \"tcp://%s\", format: yaml, timeout: 60s, datapoints: %s}", addr, points))
	testenv.Eventually(t, 20*time.Second, "the broken document counted", func() bool {
		return count(reg, "gridbox_socket_errors_total", "device=m", "kind=malformed") >= 1
	})
	if p, v := s.value("power"), s.value("voltage_l3"); p != 850.5 || v != 232.0 {
		t.Errorf("power %v voltage_l3 %v, want 850.5 and 232", p, v)
	}
	if st, _ := s.snapshot(); !st.Online || !strings.Contains(st.Error, "malformed document: yaml") {
		t.Errorf("state %+v: want online with the yaml error", st)
	}
}

// TestJSONDocumentStream: pretty-printed JSON values one after another; a
// syntax error cannot be resynchronised, so the driver reconnects.
func TestJSONDocumentStream(t *testing.T) {
	addr := testenv.FreeAddr(t)
	f := startFeed(t, addr, "pretty.json")
	s, reg := run(t, fmt.Sprintf("{id: m, driver: socket, url: \"tcp://%s\", format: json, delimiter: document, timeout: 5s, backoff: 50ms, datapoints: %s}", addr, points))
	testenv.Eventually(t, 20*time.Second, "a reconnect after the syntax error", func() bool {
		return f.count() >= 2 && count(reg, "gridbox_socket_errors_total", "device=m", "kind=malformed") >= 2
	})
	if p := s.value("power"); p != 20.0 {
		t.Errorf("power = %v, want 20", p)
	}
	if v := s.value("voltage_l3"); v != nil {
		t.Errorf("voltage_l3 = %v, want null (absent)", v)
	}
}

// TestPeerComesLater: with nothing listening the device is offline with the
// error; it connects once the peer starts.
func TestPeerComesLater(t *testing.T) {
	addr := testenv.FreeAddr(t)
	s, reg := run(t, fmt.Sprintf("{id: m, driver: socket, url: \"tcp://%s\", format: json, timeout: 5s, backoff: 50ms, max_backoff: 200ms, datapoints: %s}", addr, points))
	testenv.Eventually(t, 20*time.Second, "offline with a connect error", func() bool {
		st, _ := s.snapshot()
		return !st.Online && strings.Contains(st.Error, "connect") && count(reg, "gridbox_socket_errors_total", "device=m", "kind=io") >= 2
	})
	startFeed(t, addr, "lines.jsonl")
	testenv.Eventually(t, 20*time.Second, "values after the peer started", func() bool { return s.value("power") == 1400.0 })
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{id: a, driver: socket, url: "udp://h:1", format: json, datapoints: [{name: p, path: a}]}`, "want tcp://host:port"},
		{`{id: a, driver: socket, url: "tcp://h", format: json, datapoints: [{name: p, path: a}]}`, "want tcp://host:port"},
		{`{id: a, driver: socket, url: "tcp://h:1?format=yaml", format: json, datapoints: [{name: p, path: a}]}`, "without path or query"},
		{`{id: a, driver: socket, url: "tcp://h:1", format: xml, datapoints: [{name: p, path: a}]}`, `format: "xml": want json or yaml`},
		{`{id: a, driver: socket, url: "tcp://h:1", format: json, delimiter: comma, datapoints: [{name: p, path: a}]}`, "want newline or document"},
		{`{id: a, driver: socket, url: "tcp://h:1", format: json}`, "no datapoints"},
		{`{id: a, driver: socket, url: "tcp://h:1", format: json, datapoints: [{name: p, path: a, kind: actuator}]}`, "read only"},
		{`{id: a, driver: socket, url: "tcp://h:1", format: json, timeout: 0s, datapoints: [{name: p, path: a}]}`, "timeout: 0s: must be positive"},
		{`{id: a, driver: socket, url: "tcp://h:1", format: json, datapoints: [{name: p, path: a}], extra: 1}`, "extra"},
	}
	for _, tc := range tests {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(tc.src), &root); err != nil {
			t.Fatal(err)
		}
		c := NewConfig()
		errs := config.Decode(root.Content[0], c, "d")
		if len(errs) == 0 {
			errs = c.Validate()
		}
		if got := config.Errors(errs).Error(); !strings.Contains(got, tc.want) {
			t.Errorf("%s\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}
}

// TestSampleConfigs: sample.yaml and the docs page's example are valid.
func TestSampleConfigs(t *testing.T) {
	for _, file := range []string{"sample.yaml", "../../docs/driver-socket.md"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		src := string(data)
		if strings.HasSuffix(file, ".md") {
			_, rest, _ := strings.Cut(src, "```yaml\n")
			src, _, _ = strings.Cut(rest, "```")
		}
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(src), &root); err != nil || len(root.Content) == 0 {
			t.Fatalf("%s: %v", file, err)
		}
		devices := root.Content[0].Content[1]
		if len(devices.Content) < 2 {
			t.Fatalf("%s: %d devices", file, len(devices.Content))
		}
		for i, n := range devices.Content {
			c := NewConfig()
			errs := config.Decode(n, c, "devices")
			if len(errs) == 0 {
				errs = c.Validate()
			}
			if len(errs) > 0 {
				t.Errorf("%s devices[%d]: %v", file, i, config.Errors(errs))
			}
		}
	}
}
