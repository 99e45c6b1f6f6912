package modbus

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus/modbustest"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
)

// requireTool returns an outside program's path (skip, or fail in CI, when missing).
func requireTool(t testing.TB, name string) string { return testenv.Tool(t, name) }

// fakeSink records what a device reports, and marks values stale like the bus.
type fakeSink struct {
	mu     sync.Mutex
	vals   []model.Value
	last   map[string]model.Value
	states []model.DeviceState
	polls  uint64
	errs   uint64
	stale  int
}

func newSink() *fakeSink { return &fakeSink{last: map[string]model.Value{}} }

func (s *fakeSink) Publish(vals ...model.Value) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vals = append(s.vals, vals...)
	for _, v := range vals {
		s.last[v.Name] = v
	}
}

func (s *fakeSink) SetState(st model.DeviceState, polls, errs uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls += polls
	s.errs += errs
	st.Polls, st.Errors = s.polls, s.errs
	s.states = append(s.states, st)
}

func (s *fakeSink) MarkStale(device string, at int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stale++
	for k, v := range s.last {
		v.Quality, v.Time = model.Stale, at
		s.last[k] = v
	}
}

func (s *fakeSink) value(name string) (model.Value, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.last[name]
	return v, ok
}

func (s *fakeSink) state() model.DeviceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.states) == 0 {
		return model.DeviceState{}
	}
	return s.states[len(s.states)-1]
}

func (s *fakeSink) pollCount() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls
}

// waitFor polls cond until it holds or a generous timeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startServer starts a register-image server and stops it at test end.
func startServer(t testing.TB) *modbustest.Server {
	t.Helper()
	s, err := modbustest.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// testConfig is a fast-polling config for tests.
func testConfig(id, url string, unit int, regs []Register) *Config {
	c := NewConfig()
	c.ID, c.Driver, c.URL, c.Registers = id, "modbus", url, regs
	c.Unit = &unit
	c.Interval = config.Duration(50 * time.Millisecond)
	c.Timeout = config.Duration(500 * time.Millisecond)
	c.Retries = 0
	c.Backoff = config.Duration(20 * time.Millisecond)
	return c
}

// newTestDevice validates cfg and builds the device through the factory.
func newTestDevice(t testing.TB, drv *Driver, cfg *Config, env driver.Env) *Device {
	t.Helper()
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(config.Errors(errs))
	}
	dev, err := drv.Factory().New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	return dev.(*Device)
}

// runDevice runs dev until the test ends and checks that Run returns.
func runDevice(t *testing.T, dev *Device, sink driver.Sink) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dev.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
}

// mapSource is a driver.ProfileSource over in-memory files.
type mapSource map[string]string

func (m mapSource) Load(name string) ([]byte, string, error) {
	s, ok := m[name]
	if !ok {
		return nil, "", fmt.Errorf("unknown profile %q", name)
	}
	return []byte(s), name + ".yaml", nil
}
