package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gridbox/gridbox/sim"
)

// profiles is the device mix of the simulated site, cycled over the
// devices: the profile names of gridbox sim and the gateway's profiles.
var profiles = []struct {
	name string
	unit int
}{
	{"sma-stp", 3},         // PV inverter, 15 datapoints
	{"janitza-umg96rm", 1}, // meter, 17 datapoints
	{"demo-room", 1},       // room, 2 datapoints
}

// simDevice is one simulated device: its id in the gateway, its profile
// and the fixed address its simulator listens on (so it can come back).
type simDevice struct {
	id, profile, addr string
	unit              int
	srv               *sim.Server // nil while down
}

// fleet runs the simulators of every device in this process.
type fleet struct {
	ctx  context.Context
	log  *slog.Logger
	mu   sync.Mutex
	devs []*simDevice
}

// startFleet starts n Modbus TCP simulators on free loopback ports.
func startFleet(ctx context.Context, n int, log *slog.Logger) (*fleet, error) {
	f := &fleet{ctx: ctx, log: log}
	for i := range n {
		p := profiles[i%len(profiles)]
		srv, err := sim.Start(ctx, p.name, "127.0.0.1:0", 0, log)
		if err != nil {
			f.close()
			return nil, fmt.Errorf("simulator %d (%s): %w", i, p.name, err)
		}
		f.devs = append(f.devs, &simDevice{id: fmt.Sprintf("d%03d", i), profile: p.name, unit: p.unit, addr: srv.Addr(), srv: srv})
	}
	return f, nil
}

// down stops device i's simulator: its listener and every connection.
func (f *fleet) down(i int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.devs[i]
	if d.srv == nil {
		return nil
	}
	err := d.srv.Close()
	d.srv = nil
	return err
}

// up restarts device i's simulator on its old address.
func (f *fleet) up(i int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.devs[i]
	if d.srv != nil {
		return nil
	}
	var err error
	for range 50 { // the port may be taken for a moment by a connect attempt's socket
		var srv *sim.Server
		if srv, err = sim.Start(f.ctx, d.profile, d.addr, 0, f.log); err == nil {
			d.srv = srv
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("restart simulator %s on %s: %w", d.id, d.addr, err)
}

// close stops every simulator.
func (f *fleet) close() {
	for i := range f.devs {
		if err := f.down(i); err != nil {
			f.log.Warn("stop simulator", "device", f.devs[i].id, "err", err)
		}
	}
}

// flapper takes device i down for half of every period and brings it back
// for the other half, until ctx is done; then it leaves the device up.
// It returns how many times the device went down.
func (f *fleet) flap(ctx context.Context, i int, period time.Duration, events *timeline) int {
	downs := 0
	t := time.NewTicker(period / 2)
	defer t.Stop()
	isDown := false
	for {
		select {
		case <-ctx.Done():
			if isDown {
				if err := f.up(i); err != nil {
					f.log.Error("flap: final up", "err", err)
				}
				events.add("flap: " + f.devs[i].id + " up (flapping ends)")
			}
			return downs
		case <-t.C:
		}
		var err error
		if isDown {
			err = f.up(i)
		} else {
			err = f.down(i)
			downs++
		}
		if err != nil {
			f.log.Error("flap", "device", f.devs[i].id, "err", err)
			continue
		}
		isDown = !isDown
	}
}
