package loadmanagement

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// DeviceID is the id of the device that carries the inputs and outputs.
const DeviceID = "loadmanagement"

// Reasons of an allocation (the <charger>_reason output).
const (
	ReasonAllocated   = "allocated"
	ReasonNoCapacity  = "not enough current for the minimum"
	ReasonMeterStale  = "site meter stale: safe current"
	ReasonNoVehicle   = "no vehicle"
	ReasonDisabled    = "disabled (enabled is false)"
	ReasonPriceHigh   = "price above the limit"
	ReasonPriceStale  = "price unknown"
	ReasonPVWaiting   = "waiting for PV surplus"
	ReasonPVStale     = "grid power unknown"
	ReasonLimitZero   = "max_total_cur_prc is 0"
	ReasonSwitchPhase = "allocated; phases switched"
	ReasonRaiseDelay  = "allocated; raise waits for raise_delay"
	ReasonLimited     = "current_limit below the minimum"
)

// charger is one managed charger's state, owned by the cycle.
type charger struct {
	Charger
	phases     int   // the phases it charges on now
	lastSwitch int64 // ms; 0 = never
	alloc      float64
	reason     string
	known      bool  // alloc was decided at least once
	raiseSince int64 // ms since a higher allocation waits (raise_delay); 0 = none
	phasesRead bool  // phases was taken from the switch_phases datapoint
	wrote      written
	published  struct {
		alloc  float64
		reason string
		ok     bool
	}
}

// written is what the cycle last wrote to a charger successfully.
type written struct {
	cur              float64
	enabled          bool
	phases           int
	hasCur, hasEna   bool
	hasPhases, dirty bool
}

// inputs are the values of the loadmanagement device's actuators.
type inputs struct {
	prc      float64
	mode     string
	priority map[string]float64
	limit    map[string]float64 // <charger>_current_limit: A, caps the charger's maximum
}

// Controller runs the load management cycle. Cycle is called by one
// goroutine (Run, or a test with its own clock); the inputs may be written
// from any goroutine.
type Controller struct {
	bus      *bus.Bus
	cfg      *Config
	log      *slog.Logger
	mu       sync.Mutex // guards in
	in       inputs
	chargers []*charger
	byID     map[string]*charger
	meter    string    // meter device, resolved
	currents [3]string // "<device>/<name>" per phase, resolved
	signs    [3]string // the meter's ac_power_lN: a negative one (export) makes its current negative
	grid     string    // grid power datapoint, resolved
	resolved bool      // Resolve ran once
	pv       pvState
	stats    stats
	episode  staleEpisode
}

// staleEpisode follows one period of a stale meter: how many cycles it
// took until every charger held its safe current (1 = the first stale cycle).
type staleEpisode struct {
	on, seen bool // seen: the meter was good at least once
	cycles   int
	done     bool
	reaction atomic.Int64 // of the last episode; 0 = none yet
}

// stats are counted for the metrics.
type stats struct {
	cycles, writes, writeErrors, stale atomic.Uint64
}

// New makes a controller for cfg on b; Register makes its device known.
func New(b *bus.Bus, cfg *Config, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Controller{bus: b, cfg: cfg, log: log, byID: map[string]*charger{},
		in: inputs{prc: cfg.MaxTotalCurPrc, mode: cfg.Mode, priority: map[string]float64{}, limit: map[string]float64{}}}
	for _, ch := range cfg.Chargers {
		c.addCharger(cfg.Defaults.resolve(ch))
	}
	return c
}

// addCharger appends a charger; its priority input starts at the configured one.
func (c *Controller) addCharger(ch Charger) *charger {
	st := &charger{Charger: ch, phases: ch.Phases}
	c.chargers = append(c.chargers, st)
	c.byID[ch.Device] = st
	c.mu.Lock()
	c.in.priority[ch.Device] = ch.Priority
	c.in.limit[ch.Device] = ch.MaxCurrent
	c.mu.Unlock()
	return st
}

// snapshot copies the inputs.
func (c *Controller) snapshot() inputs {
	c.mu.Lock()
	defer c.mu.Unlock()
	in := c.in
	in.priority = make(map[string]float64, len(c.in.priority))
	for k, v := range c.in.priority {
		in.priority[k] = v
	}
	in.limit = make(map[string]float64, len(c.in.limit))
	for k, v := range c.in.limit {
		in.limit[k] = v
	}
	return in
}

// good returns the numeric value of key "<device>/<name>" if it is good.
func (c *Controller) good(key string) (float64, bool) {
	d, n, _ := strings.Cut(key, "/")
	return c.goodOf(d, n)
}

func (c *Controller) goodOf(device, name string) (float64, bool) {
	_, v, has, _ := c.bus.Datapoint(device, name)
	if !has || v.Quality != model.Good {
		return 0, false
	}
	return model.AsFloat(v.Value)
}

// siteCurrents reads the site meter per phase; false when any phase is
// missing or not good (stale).
func (c *Controller) siteCurrents() ([3]float64, bool) {
	var out [3]float64
	for p, k := range c.currents {
		v, ok := c.good(k)
		if k == "" || !ok {
			return out, false
		}
		out[p] = v
		if w, ok := c.good(c.signs[p]); ok && w < 0 && c.signs[p] != "" {
			out[p] = -math.Abs(v)
		}
	}
	return out, true
}

// measured returns the current a charger draws per phase: its current_lN
// datapoints, else its ac_power spread over its phases, else nothing.
func (c *Controller) measured(ch *charger) [3]float64 {
	var out [3]float64
	all := true
	for p := range 3 {
		v, ok := c.goodOf(ch.Device, "current_l"+string(rune('1'+p)))
		out[p], all = v, all && ok
	}
	if all {
		return out
	}
	out = [3]float64{}
	if w, ok := c.goodOf(ch.Device, "ac_power"); ok && w > 0 {
		on := phaseSet(ch.phases, ch.Phase)
		n := float64(ch.phases)
		for p := range 3 {
			if on[p] {
				out[p] = w / c.cfg.Voltage / n
			}
		}
	}
	return out
}

// active tells whether a vehicle may charge, and if not why: the
// charger's status says there is none (available, faulted), or someone
// other than load management disabled it (enabled false).
func (c *Controller) active(ch *charger) (bool, string) {
	if _, v, has, _ := c.bus.Datapoint(ch.Device, "enabled"); has && v.Quality == model.Good && v.Value == false &&
		!(ch.wrote.hasEna && !ch.wrote.enabled) {
		return false, ReasonDisabled
	}
	_, v, has, _ := c.bus.Datapoint(ch.Device, "status")
	if !has || v.Quality != model.Good {
		return true, ""
	}
	s, _ := v.Value.(string)
	switch strings.ToLower(s) {
	case "available", "faulted":
		return false, ReasonNoVehicle
	}
	return true, ""
}

// phaseSet is the phases a charger draws on: all three, or the one of a 1-phase charge.
func phaseSet(phases, phase int) [3]bool {
	if phases == 3 {
		return [3]bool{true, true, true}
	}
	var on [3]bool
	on[max(phase, 1)-1] = true
	return on
}

// safe is the current a charger falls to when the meter is stale.
func (c *Controller) safe(ch *charger) float64 {
	s := ch.MinCurrent
	if c.cfg.SafeCurrent != nil {
		s = *c.cfg.SafeCurrent
	}
	if s > 0 && s < ch.MinCurrent {
		s = ch.MinCurrent // never between 0 and the minimum
	}
	if ch.known {
		s = min(s, ch.alloc)
	}
	return wholeMin(s)
}

// wholeMin rounds a minimum up to whole amps.
func wholeMin(a float64) float64 {
	if a <= 0 {
		return 0
	}
	return math.Ceil(a - 1e-9)
}

// Cycle runs one cycle at time now (ms): read, decide, write, publish.
func (c *Controller) Cycle(ctx context.Context, now int64) {
	in := c.snapshot()
	site, ok := c.siteCurrents()
	c.stats.cycles.Add(1)
	if !ok {
		c.stats.stale.Add(1)
		for _, ch := range c.chargers {
			ch.alloc, ch.reason, ch.known = c.safe(ch), ReasonMeterStale, true
		}
	} else {
		c.decide(in, site, now)
	}
	ctx = bus.WithSource(ctx, bus.SourceLoadManagement)
	for _, ch := range c.chargers {
		c.apply(ctx, ch)
	}
	c.followEpisode(ok)
	c.publish(now)
}

// followEpisode counts the cycles of a stale meter until every charger
// holds its safe current.
func (c *Controller) followEpisode(meterOK bool) {
	e := &c.episode
	if meterOK {
		e.on, e.seen = false, true
		return
	}
	if !e.seen {
		return // no meter reading yet (start): safe currents, but no episode to count
	}
	if !e.on {
		e.on, e.cycles, e.done = true, 0, false
		c.log.Warn("site meter stale: chargers fall to their safe current", "meter", c.meter, "currents", strings.Join(c.currents[:], ","))
	}
	e.cycles++
	if e.done {
		return
	}
	for _, ch := range c.chargers {
		if !c.holds(ch) {
			return
		}
	}
	e.done = true
	e.reaction.Store(int64(e.cycles))
}

// SafeReactionCycles is how many cycles of the last stale-meter episode
// passed until every charger held its safe current (1 = the first stale
// cycle did it); 0 before any episode ended its reaction.
func (c *Controller) SafeReactionCycles() int64 { return c.episode.reaction.Load() }
