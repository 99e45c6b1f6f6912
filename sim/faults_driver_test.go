package sim_test

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/driver/sunspec"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sim"
)

// The fault tests run every Modbus-family driver against a simulator with
// one fault class and a healthy one next to it (same driver, so a shared
// pool or connection would show), and check that the driver keeps polling
// the healthy device, reports the faulty one with a reason, never publishes
// a value that is not the device's (a mixed-up answer), recovers once the
// fault is lifted (reconnecting where the connection went half-open) and
// leaves no goroutine or connection behind.

// faultRecorder is a driver.Sink and driver.Catalog recording everything.
type faultRecorder struct {
	mu     sync.Mutex
	last   map[string]model.Value // by device/name
	bad    []string               // values that differ from the expected constants
	states map[string][]model.DeviceState
	polls  map[string]uint64
	stale  map[string]int
	expect map[string]any // device/name → the constant it must always have
}

func newFaultRecorder(expect map[string]any) *faultRecorder {
	return &faultRecorder{last: map[string]model.Value{}, states: map[string][]model.DeviceState{},
		polls: map[string]uint64{}, stale: map[string]int{}, expect: expect}
}

func (r *faultRecorder) Publish(vals ...model.Value) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vals {
		r.last[v.Key()] = v
		if want, ok := r.expect[v.Key()]; ok && v.Quality == model.Good && fmt.Sprint(v.Value) != fmt.Sprint(want) {
			r.bad = append(r.bad, fmt.Sprintf("%s = %v, want %v", v.Key(), v.Value, want))
		}
	}
}

func (r *faultRecorder) SetState(st model.DeviceState, polls, _ uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.polls[st.Device] += polls
	r.states[st.Device] = append(r.states[st.Device], st)
}

func (r *faultRecorder) MarkStale(dev string, _ int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stale[dev]++
}

func (r *faultRecorder) AddDevice(st model.DeviceState, pts []model.Datapoint, _ driver.Writer, _ int64) error {
	return nil
}
func (r *faultRecorder) AddDatapoints(string, ...model.Datapoint) error { return nil }
func (r *faultRecorder) RemoveDatapoints(string, ...string) error       { return nil }
func (r *faultRecorder) RemoveDevice(string) error                      { return nil }

// snapshot returns the device's poll count, its states' errors so far and
// whether its last state is online.
func (r *faultRecorder) snapshot(dev string) (polls uint64, errs []string, online bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.states[dev] {
		if st.Error != "" {
			errs = append(errs, st.Error)
		}
	}
	sts := r.states[dev]
	return r.polls[dev], errs, len(sts) > 0 && sts[len(sts)-1].Online && sts[len(sts)-1].Error == ""
}

// faultDriver is one Modbus-family driver under test.
type faultDriver struct {
	factory func() driver.Factory
	config  func(id, url string) driver.Config
	expect  func(id string) map[string]any // constants the device must always report
}

var faultDrivers = map[string]faultDriver{
	"modbus": {
		factory: func() driver.Factory { return modbus.New().Factory() },
		config: func(id, url string) driver.Config {
			c := modbus.NewConfig()
			c.ID, c.Driver, c.URL = id, "modbus", url
			unit := 1
			c.Unit = &unit
			c.Interval = config.Duration(50 * time.Millisecond)
			c.Timeout = config.Duration(400 * time.Millisecond)
			c.Backoff = config.Duration(20 * time.Millisecond)
			c.MaxRegisters = 1 // one request per register: same-sized answers a mix-up could swap
			for i, name := range []string{"suns", "common_model", "mn"} {
				r := modbus.Register{Name: name, Address: uint16(40000 + 2*i), Type: "uint16"}
				c.Registers = append(c.Registers, r)
			}
			return c
		},
		expect: func(id string) map[string]any {
			return map[string]any{id + "/suns": 0x5375, id + "/common_model": 1, id + "/mn": 0x6772} // "Su", 1, "gr"
		},
	},
	"sunspec": {
		factory: func() driver.Factory { return sunspec.New().Factory() },
		config: func(id, url string) driver.Config {
			c := sunspec.NewConfig()
			c.ID, c.Driver, c.URL = id, "sunspec", url
			c.Interval = config.Duration(50 * time.Millisecond)
			c.Timeout = config.Duration(400 * time.Millisecond)
			c.Backoff = config.Duration(20 * time.Millisecond)
			return c
		},
		expect: func(id string) map[string]any {
			return map[string]any{id + "/w_rtg": 10000, id + "/serial_number": "INT0001", id + "/der_typ": 82, id + "/mppt_n": 2}
		},
	},
}

// faultClasses are the fault classes of the simulator at rates that hit
// every poll; slow exceeds the drivers' 400 ms timeout, so its late answers
// arrive while the next request waits (the classic mix-up).
// A driver may ride out a half-open connection without an error state (it
// times out, reconnects and retries within one poll); every other class
// must show in the device state.
var faultClasses = map[string]faultClass{
	"timeout":   {sim.Faults{Timeout: 0.3}, "timeout", true},
	"exception": {sim.Faults{Exception: 0.3}, "exception", true},
	"garbage":   {sim.Faults{Garbage: 0.3}, "garbage", true},
	"slow":      {sim.Faults{Slow: 600 * time.Millisecond}, "passed", true},
	"halfopen":  {sim.Faults{HalfOpen: true}, "halfopen", false},
}

type faultClass struct {
	faults    sim.Faults
	injected  string // the simulator's counter of this class (sim.Server.Injected)
	mustError bool
}

// healthy is a fault front door that injects nothing noticeable, so that
// the healthy simulator's connections are counted too.
var healthy = sim.Faults{Slow: time.Microsecond}

func TestFaultClasses(t *testing.T) {
	for _, drv := range sortedKeys(faultDrivers) {
		for _, class := range sortedKeys(faultClasses) {
			t.Run(drv+"/"+class, func(t *testing.T) { testFaultClass(t, faultDrivers[drv], faultClasses[class]) })
		}
	}
}

func testFaultClass(t *testing.T, fd faultDriver, fc faultClass) {
	good, bad := startSim(t, healthy), startSim(t, fc.faults)
	base := runtime.NumGoroutine()
	expect := fd.expect("good")
	maps.Copy(expect, fd.expect("bad"))
	rec := newFaultRecorder(expect)
	stop := runFaultDevices(t, fd, map[string]string{"good": good.URL(), "bad": bad.URL()}, rec)

	// The faulty device reports an error with a reason; the healthy one keeps polling.
	goodPolls, _, _ := rec.snapshot("good")
	waitFault(t, "faults injected and reported", func() bool {
		_, errs, _ := rec.snapshot("bad")
		return bad.Injected()[fc.injected] >= 3 && (len(errs) > 0 || !fc.mustError)
	})
	waitFault(t, "the healthy device keeps polling, online", func() bool {
		polls, _, online := rec.snapshot("good")
		return polls >= goodPolls+5 && online
	})
	if _, errs, _ := rec.snapshot("good"); len(errs) > 0 {
		t.Errorf("healthy device reported errors: %q", errs)
	}
	_, errs, _ := rec.snapshot("bad")
	first := ""
	if len(errs) > 0 {
		first = errs[0]
	}
	t.Logf("faulty device: %d error states, first %q; injected %v", len(errs), first, bad.Injected())

	// Lifted, the faulty device recovers (reconnecting where it has to).
	bad.SetFaults(sim.Faults{})
	badPolls, _, _ := rec.snapshot("bad")
	waitFault(t, "the faulty device recovers", func() bool {
		polls, _, online := rec.snapshot("bad")
		return polls >= badPolls+3 && online
	})
	waitFault(t, "one connection per simulator", func() bool { return bad.Clients() <= 1 && good.Clients() <= 1 })

	stop()
	rec.mu.Lock()
	if len(rec.bad) > 0 {
		t.Errorf("%d mixed-up values, first: %s", len(rec.bad), rec.bad[0])
	}
	rec.mu.Unlock()
	waitFault(t, "no connection left after stop", func() bool { return bad.Clients() == 0 && good.Clients() == 0 })
	waitFault(t, fmt.Sprintf("no goroutine left (baseline %d)", base), func() bool { return runtime.NumGoroutine() <= base })
}

func sortedKeys[V any](m map[string]V) []string {
	ks := slices.Collect(maps.Keys(m))
	sort.Strings(ks)
	return ks
}

func waitFault(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startSim runs sunspec-int with faults f (seeded) until the test ends.
func startSim(t *testing.T, f sim.Faults) *sim.Server {
	t.Helper()
	f.Seed = 42
	s, err := sim.StartFaulty(context.Background(), "sunspec-int", "127.0.0.1:0", 0, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// runFaultDevices runs one device of fd per id (URL), all made by one
// factory as in the gateway; stop cancels them, waits for Run to return
// and closes the factory.
func runFaultDevices(t *testing.T, fd faultDriver, urls map[string]string, rec *faultRecorder) (stop func()) {
	t.Helper()
	f := fd.factory()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for id, url := range urls {
		cfg := fd.config(id, url)
		if v, ok := cfg.(interface{ Validate() []config.FieldError }); ok {
			if errs := v.Validate(); len(errs) > 0 {
				t.Fatal(config.Errors(errs))
			}
		}
		dev, err := f.New(cfg, driver.Env{Catalog: rec})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = dev.Run(ctx, rec)
		}()
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			if f.Close != nil {
				_ = f.Close()
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
