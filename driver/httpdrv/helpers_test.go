package httpdrv

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/profile"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"
)

// startPeer runs testdata/serve.py (Python's http.server with recorded
// answers) on a free port and returns its base URL.
func startPeer(t *testing.T) string {
	t.Helper()
	py := testenv.Tool(t, "python3")
	addr := testenv.FreeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	cmd := exec.Command(py, "testdata/serve.py", port, "testdata/answers")
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
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ready <- sc.Scan() && sc.Text() == "ready"
		for sc.Scan() {
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("serve.py did not start: %s", stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve.py not ready after 20 s: %s", stderr.String())
	}
	return "http://" + addr
}

// sink records what a device reports.
type sink struct {
	mu     sync.Mutex
	vals   map[string]model.Value
	state  model.DeviceState
	polls  uint64
	errs   uint64
	stales int
}

func newSink() *sink { return &sink{vals: map[string]model.Value{}} }

func (s *sink) Publish(vals ...model.Value) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vals {
		s.vals[v.Name] = v
	}
}

func (s *sink) SetState(st model.DeviceState, polls, errs uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state, s.polls, s.errs = st, s.polls+polls, s.errs+errs
}

func (s *sink) MarkStale(string, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stales++
}

func (s *sink) value(name string) (model.Value, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vals[name]
	return v, ok
}

func (s *sink) snapshot() (model.DeviceState, uint64, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.polls, s.errs
}

// newTestDevice decodes a device from YAML like the gateway does (strict
// keys, Validate, NewDevice with the built-in profiles) and counts into reg.
func newTestDevice(t testing.TB, src string, reg prometheus.Registerer) *Device {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	c := NewConfig()
	errs := config.Decode(root.Content[0], c, "device")
	if len(errs) == 0 {
		errs = c.Validate()
	}
	if len(errs) > 0 {
		t.Fatalf("config: %v\n%s", config.Errors(errs), src)
	}
	d, err := New().NewDevice(c, driver.Env{Profiles: profile.Builtin(), Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	return d.(*Device)
}

// pollOnce polls dev once into a new sink.
func pollOnce(t *testing.T, dev *Device) *sink {
	t.Helper()
	s := newSink()
	dev.poll(context.Background(), s)
	return s
}

// wantValues checks published values (nil for "not available").
func wantValues(t *testing.T, s *sink, want map[string]any) {
	t.Helper()
	for name, w := range want {
		v, ok := s.value(name)
		if !ok {
			t.Errorf("%s: no value", name)
			continue
		}
		if f, isF := w.(float64); isF {
			got, _ := v.Value.(float64)
			if diff := got - f; diff > 1e-9 || diff < -1e-9 || v.Value == nil {
				t.Errorf("%s = %v, want %v", name, v.Value, w)
			}
			continue
		}
		if v.Value != w {
			t.Errorf("%s = %v (%s), want %v", name, v.Value, v.Quality, w)
		}
	}
}

// errCount reads gridbox_http_device_errors_total for a device and kind.
func errCount(reg *prometheus.Registry, device, kind string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "gridbox_http_device_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["device"] == device && labels["kind"] == kind {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
