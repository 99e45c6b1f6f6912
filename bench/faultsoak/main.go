// Command faultsoak is the soak bench of the fault-injecting simulator: it
// polls a faulty and a healthy sunspec-int simulator with each
// Modbus-family driver (modbus, sunspec) for a while and prints polls,
// errors, injected faults, and goroutines, heap and open connections at the
// start and the end — what a leak or a stuck device would show.
//
//	go run ./bench/faultsoak [-d 60s] [-faults timeout=5%,exception=2%,garbage=1%,slow=50ms,halfopen]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/driver/sunspec"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sim"
)

func main() {
	dur := flag.Duration("d", 60*time.Second, "how long to soak")
	spec := flag.String("faults", "timeout=5%,exception=2%,garbage=1%,slow=50ms,halfopen", "faults of the faulty simulator (gridbox sim --faults)")
	seed := flag.Uint64("seed", 1, "fault RNG seed")
	flag.Parse()
	faults, err := sim.ParseFaults(*spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultsoak:", err)
		os.Exit(2)
	}
	faults.Seed = *seed
	if err := run(*dur, faults); err != nil {
		fmt.Fprintln(os.Stderr, "faultsoak:", err)
		os.Exit(1)
	}
}

func run(dur time.Duration, faults sim.Faults) error {
	ctx := context.Background()
	bad, err := sim.StartFaulty(ctx, "sunspec-int", "127.0.0.1:0", 0, faults, nil)
	if err != nil {
		return err
	}
	defer bad.Close()
	good, err := sim.StartFaulty(ctx, "sunspec-int", "127.0.0.1:0", 0, sim.Faults{Slow: time.Microsecond}, nil)
	if err != nil {
		return err
	}
	defer good.Close()
	g0, h0 := runtime.NumGoroutine(), heap()
	rec := &counter{polls: map[string]int{}, errs: map[string]int{}, vals: map[string]int{}}
	runCtx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var wg sync.WaitGroup
	var factories []driver.Factory
	for _, kind := range []string{"modbus", "sunspec"} {
		f := factory(kind)
		factories = append(factories, f)
		for _, d := range []struct{ id, url string }{{kind + "-bad", bad.URL()}, {kind + "-good", good.URL()}} {
			dev, err := f.New(deviceConfig(kind, d.id, d.url), driver.Env{Catalog: rec})
			if err != nil {
				return fmt.Errorf("%s: %w", d.id, err)
			}
			wg.Add(1)
			go func() { defer wg.Done(); _ = dev.Run(runCtx, rec) }()
		}
	}
	time.Sleep(dur / 2)
	gMid, hMid, cMid := runtime.NumGoroutine(), heap(), bad.Clients()
	wg.Wait()
	for _, f := range factories {
		_ = f.Close()
	}
	time.Sleep(time.Second) // let closed connections and goroutines wind down
	report(dur, rec, bad, good, [3]int{g0, gMid, runtime.NumGoroutine()}, [3]uint64{h0, hMid, heap()}, cMid)
	return nil
}

func report(dur time.Duration, rec *counter, bad, good *sim.Server, gs [3]int, hs [3]uint64, connsMid int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	ids := make([]string, 0, len(rec.polls))
	for id := range rec.polls {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Printf("soak %v, injected %v\n", dur, bad.Injected())
	for _, id := range ids {
		fmt.Printf("%-13s %6d polls (%5.1f/s), %5d with an error (%4.1f %%), %7d good values\n", id, rec.polls[id],
			float64(rec.polls[id])/dur.Seconds(), rec.errs[id], 100*float64(rec.errs[id])/float64(max(rec.polls[id], 1)), rec.vals[id])
	}
	fmt.Printf("goroutines: start %d, half-way %d, after stop %d\n", gs[0], gs[1], gs[2])
	fmt.Printf("heap in use: start %.1f MB, half-way %.1f MB, after stop %.1f MB\n", mb(hs[0]), mb(hs[1]), mb(hs[2]))
	fmt.Printf("client connections of the faulty simulator: half-way %d, after stop %d (healthy: %d)\n", connsMid, bad.Clients(), good.Clients())
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func mb(b uint64) float64 { return float64(b) / 1e6 }

func factory(kind string) driver.Factory {
	if kind == "modbus" {
		return modbus.New().Factory()
	}
	return sunspec.New().Factory()
}

// deviceConfig polls every 100 ms with a 300 ms timeout.
func deviceConfig(kind, id, url string) driver.Config {
	if kind == "modbus" {
		c := modbus.NewConfig()
		c.ID, c.Driver, c.URL = id, "modbus", url
		unit := 1
		c.Unit = &unit
		c.Interval, c.Timeout = config.Duration(100*time.Millisecond), config.Duration(300*time.Millisecond)
		c.MaxRegisters = 1
		for i, name := range []string{"suns", "common_model", "mn"} {
			c.Registers = append(c.Registers, modbus.Register{Name: name, Address: uint16(40000 + 2*i), Type: "uint16"})
		}
		return c
	}
	c := sunspec.NewConfig()
	c.ID, c.Driver, c.URL = id, "sunspec", url
	c.Interval, c.Timeout = config.Duration(100*time.Millisecond), config.Duration(300*time.Millisecond)
	return c
}

// counter is the devices' sink and catalog: polls, error polls, good values.
type counter struct {
	mu                sync.Mutex
	polls, errs, vals map[string]int
}

func (c *counter) Publish(vals ...model.Value) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range vals {
		if v.Quality == model.Good {
			c.vals[v.Device]++
		}
	}
}

func (c *counter) SetState(st model.DeviceState, polls, _ uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.polls[st.Device] += int(polls)
	if st.Error != "" || !st.Online {
		c.errs[st.Device] += int(polls)
	}
}

func (c *counter) MarkStale(string, int64) {}
func (c *counter) AddDevice(model.DeviceState, []model.Datapoint, driver.Writer, int64) error {
	return nil
}
func (c *counter) AddDatapoints(string, ...model.Datapoint) error { return nil }
func (c *counter) RemoveDatapoints(string, ...string) error       { return nil }
func (c *counter) RemoveDevice(string) error                      { return nil }
