package sunspec_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/sunspec"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sim"
)

// recorder is a driver.Sink and driver.Catalog that remembers what a device reported.
type recorder struct {
	mu      sync.Mutex
	vals    map[string]model.Value // by device/name
	states  map[string]model.DeviceState
	offline map[string]int             // offline states reported, by device
	points  map[string]model.Datapoint // by device/name
	writers map[string]driver.Writer
}

func newRecorder() *recorder {
	return &recorder{vals: map[string]model.Value{}, states: map[string]model.DeviceState{}, offline: map[string]int{},
		points: map[string]model.Datapoint{}, writers: map[string]driver.Writer{}}
}

func (r *recorder) Publish(vals ...model.Value) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vals {
		r.vals[v.Key()] = v
	}
}

func (r *recorder) SetState(st model.DeviceState, _, _ uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states[st.Device] = st
	if !st.Online {
		r.offline[st.Device]++
	}
}

func (r *recorder) MarkStale(string, int64) {}

func (r *recorder) AddDevice(st model.DeviceState, pts []model.Datapoint, w driver.Writer, _ int64) error {
	r.mu.Lock()
	r.writers[st.Device] = w
	r.mu.Unlock()
	return r.AddDatapoints(st.Device, pts...)
}

func (r *recorder) AddDatapoints(dev string, pts ...model.Datapoint) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range pts {
		if err := p.CheckMeta(); err != nil {
			return err
		}
		p.Device = dev
		r.points[p.Key()] = p
	}
	return nil
}

func (r *recorder) RemoveDatapoints(dev string, names ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range names {
		delete(r.points, model.Key(dev, n))
	}
	return nil
}

func (r *recorder) RemoveDevice(dev string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, p := range r.points {
		if p.Device == dev {
			delete(r.points, k)
		}
	}
	delete(r.writers, dev)
	return nil
}

func (r *recorder) value(key string) (model.Value, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.vals[key]
	return v, ok
}

func (r *recorder) point(key string) (model.Datapoint, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.points[key]
	return p, ok
}

func (r *recorder) state(dev string) model.DeviceState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.states[dev]
}

// startSim runs a simulator on a free port until the test ends.
func startSim(t testing.TB, name string) *sim.Server {
	t.Helper()
	s, err := sim.Start(context.Background(), name, "127.0.0.1:0", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// runDevice builds a device from cfg and runs it until the test ends.
func runDevice(t testing.TB, cfg *sunspec.Config, rec *recorder) *sunspec.Device {
	t.Helper()
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	drv := sunspec.New()
	dev, err := drv.NewDevice(cfg, driver.Env{Catalog: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		dev.Run(ctx, rec)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		drv.Factory().Close()
	})
	return dev.(*sunspec.Device)
}

// testConfig returns a config for the device at addr polled every 50 ms.
func testConfig(id, addr string) *sunspec.Config {
	c := sunspec.NewConfig()
	c.ID, c.Driver, c.URL = id, "sunspec", "tcp://"+addr
	c.Interval = 50_000_000
	c.Backoff = 10_000_000
	return c
}

// waitValue waits until key has a value and returns it.
func waitValue(t *testing.T, rec *recorder, key string) model.Value {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, key, func() bool { _, ok := rec.value(key); return ok })
	v, _ := rec.value(key)
	return v
}
