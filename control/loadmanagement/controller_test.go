package loadmanagement

import (
	"context"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// TestEqualCycles: the available current (site maximum × percentage minus
// the other load) is shared equally in whole amps; a charger that cannot
// get its minimum is disabled and set to 0; a stale meter drops every
// charger to its minimum at once.
func TestEqualCycles(t *testing.T) {
	s := newSite(t, 2, func(c *Config) {
		c.Chargers = []Charger{{Device: "wb1", MaxCurrent: 16}, {Device: "wb2", MaxCurrent: 16}}
	})
	run(t, s, []step{
		{name: "22 A free, 11 A each", do: base(10), writes: "wb1/max_current=11; wb2/max_current=11", reason: ReasonAllocated},
		{name: "steady: no writes", writes: ""},
		{name: "other load 14 A: 9 each", do: base(14), writes: "wb1/max_current=9; wb2/max_current=9"},
		{name: "other load 21 A: 11 A free, only wb1 gets its minimum", do: base(21), writes: "wb1/max_current=11; wb2/max_current=0"},
		{name: "steady", writes: ""},
		{name: "limit 50 %: nobody fits", do: func(s *site) { s.input("max_total_cur_prc", 50.0) }, writes: "wb1/max_current=0", reason: ReasonNoCapacity},
		{name: "100 % and 4 A other load: 14 each (max 16)", do: func(s *site) { s.input("max_total_cur_prc", 100.0); base(4)(s) },
			writes: "wb1/max_current=14; wb2/max_current=14"},
		{name: "meter stale: both at their minimum at once", do: func(s *site) { s.stale = true }, writes: "wb1/max_current=6; wb2/max_current=6", reason: ReasonMeterStale},
		{name: "still stale: stays", writes: ""},
		{name: "meter back", do: func(s *site) { s.stale = false }, writes: "wb1/max_current=14; wb2/max_current=14", reason: ReasonAllocated},
	})
	if got := s.ctl.SafeReactionCycles(); got != 1 {
		t.Fatalf("SafeReactionCycles = %d, want 1 (the first stale cycle)", got)
	}
	if got := s.output("wb2_allocated_current"); got != 14.0 {
		t.Fatalf("wb2_allocated_current = %v, want 14", got)
	}
}

// TestPriorityCycles: in mode priority the higher priority is filled to its
// maximum first; the priority input reorders at run time.
func TestPriorityCycles(t *testing.T) {
	s := newSite(t, 2, func(c *Config) {
		c.Mode = ModePriority
		c.Chargers = []Charger{{Device: "wb1", Priority: 10}, {Device: "wb2", Priority: 5}}
	})
	run(t, s, []step{
		{name: "30 A free: wb1 24, wb2 6", do: base(2), writes: "wb1/max_current=24; wb2/max_current=6"},
		{name: "wb2 first now", do: func(s *site) { s.input("wb2_priority", 20.0) }, writes: "wb1/max_current=6; wb2/max_current=24"},
		{name: "8 A free: wb2 only", do: base(24), writes: "wb1/max_current=0; wb2/max_current=8", reason: ReasonNoCapacity},
		{name: "mode equal over the input", do: func(s *site) { s.input("mode", "equal"); base(2)(s) }, writes: "wb1/max_current=15; wb2/max_current=15"},
	})
}

// TestSafeCurrentOff: safe_current 0 switches every charger off when the
// meter goes stale; one without a vehicle gets 0.
func TestSafeCurrentOff(t *testing.T) {
	s := newSite(t, 2, func(c *Config) { c.SafeCurrent = num(0) })
	s.boxes[1].SetVehicle(0)
	run(t, s, []step{
		{name: "wb2 has no vehicle", do: base(0), writes: "wb1/max_current=32; wb2/max_current=0"},
		{name: "stale: off", do: func(s *site) { s.stale = true }, writes: "wb1/max_current=0", reason: ReasonMeterStale},
	})
	if got := s.output("wb2_reason"); got != ReasonMeterStale {
		t.Fatalf("wb2 reason %v", got)
	}
}

// TestPVCycles: mode pv charges from the surplus only; it starts after the
// surplus stayed above start_surplus for start_delay, follows the surplus,
// keeps the minimum while the surplus dips, and stops after stop_delay.
func TestPVCycles(t *testing.T) {
	s := newSite(t, 1, func(c *Config) {
		c.Mode = ModePV
		c.PV = PV{StartSurplus: 4200, StopSurplus: 1000, StartDelay: config.Duration(2 * time.Second), StopDelay: config.Duration(2 * time.Second)}
	})
	run(t, s, []step{
		{name: "no surplus", do: func(s *site) { base(2)(s); s.pv = 0 }, writes: "wb1/max_current=0", reason: ReasonPVWaiting},
		{name: "surplus 6 kW: start delay runs", do: func(s *site) { s.pv = 2*3*230 + 6000 }, writes: ""},
		{name: "1 s", writes: ""},
		{name: "2 s: start with 8 A (6000 W / 690 W per A)", writes: "wb1/max_current=8", reason: ReasonAllocated},
		{name: "steady while charging from surplus", writes: ""},
		{name: "surplus 2 kW: keeps its minimum", do: func(s *site) { s.pv = 2*3*230 + 2000 }, writes: "wb1/max_current=6"},
		{name: "surplus 500 W: stop delay", do: func(s *site) { s.pv = 2*3*230 + 500 }, writes: ""},
		{name: "1 s", writes: ""},
		{name: "stops", writes: "wb1/max_current=0", reason: ReasonPVWaiting},
	})
}

// TestPriceCycles: mode price charges while the price is below the limit.
func TestPriceCycles(t *testing.T) {
	s := newSite(t, 1, func(c *Config) { c.Mode = ModePrice })
	run(t, s, []step{
		{name: "expensive", do: func(s *site) { base(0)(s); s.price = 0.35 }, writes: "wb1/max_current=0", reason: ReasonPriceHigh},
		{name: "cheap", do: func(s *site) { s.price = 0.12 }, writes: "wb1/max_current=32", reason: ReasonAllocated},
		{name: "at the limit", do: func(s *site) { s.price = 0.30 }, writes: "wb1/max_current=0", reason: ReasonPriceHigh},
	})
}

// TestPhaseSwitching: a 3-phase charger that cannot get its minimum
// switches to one phase (phases written before the current); back to three
// only with min + hysteresis and after min_switch_interval (current before
// phases).
func TestPhaseSwitching(t *testing.T) {
	s := newSite(t, 1, func(c *Config) {
		c.Chargers = []Charger{{Device: "wb1", SwitchPhases: "wb1/phases"}}
		c.Hysteresis = 2
		c.MinSwitchInterval = config.Duration(3 * time.Second)
		c.Currents = []string{"grid/current_l1", "grid/current_l2", "grid/current_l3"}
	})
	run(t, s, []step{
		{name: "L2 and L3 full: 1 phase on L1", do: func(s *site) { s.base = [3]float64{10, 28, 28} }, writes: "wb1/phases=1; wb1/max_current=22", reason: ReasonSwitchPhase},
		{name: "L2/L3 free but within the switch interval", do: func(s *site) { s.base = [3]float64{5, 12, 12} }, writes: "wb1/max_current=27", reason: ReasonAllocated},
		{name: "1 s", writes: ""},
		{name: "interval over: 3 phases, current first", writes: "wb1/max_current=20; wb1/phases=3", reason: ReasonSwitchPhase},
		{name: "steady", writes: ""},
	})
	s2 := newSite(t, 1, func(c *Config) {
		c.Chargers = []Charger{{Device: "wb1", SwitchPhases: "wb1/phases"}}
		c.Hysteresis = 2
		c.MinSwitchInterval = 0
	})
	run(t, s2, []step{
		{name: "only 1 phase fits", do: func(s *site) { s.base = [3]float64{0, 27, 27} }, writes: "wb1/phases=1; wb1/max_current=32"},
		{name: "7 A on every phase: below min + hysteresis, stays on 1", do: func(s *site) { s.base = [3]float64{25, 25, 25} }, writes: "wb1/max_current=7"},
		{name: "8 A: 3 phases", do: func(s *site) { s.base = [3]float64{24, 24, 24} }, writes: "wb1/max_current=8; wb1/phases=3"},
	})
}

// TestRaiseDelay: a higher allocation waits raise_delay (meter noise does
// not move the chargers up and down every cycle); a lower one applies at once.
func TestRaiseDelay(t *testing.T) {
	s := newSite(t, 1, func(c *Config) { c.RaiseDelay = config.Duration(2 * time.Second) })
	run(t, s, []step{
		{name: "first decision at once", do: base(20), writes: "wb1/max_current=12", reason: ReasonAllocated},
		{name: "1 A more free: waits", do: base(19), writes: "", reason: ReasonRaiseDelay},
		{name: "1 s", writes: "", reason: ReasonRaiseDelay},
		{name: "2 s: raised", writes: "wb1/max_current=13", reason: ReasonAllocated},
		{name: "lower: at once", do: base(25), writes: "wb1/max_current=7"},
		{name: "noise up again: waits", do: base(24), writes: ""},
		{name: "noise down: no write", do: base(25), writes: ""},
	})
}

// TestEnabled: a charger someone else disabled gets 0 A (so it cannot
// jump to its old current when re-enabled) and is not enabled; one whose
// max_current does not take 0 A is disabled instead, and enabled again by
// load management when it gets current.
func TestEnabled(t *testing.T) {
	s := newSite(t, 2, nil)
	s.boxes[1].SetEnabled(false)
	run(t, s, []step{
		{name: "wb2 disabled by its owner: all for wb1", do: base(10), writes: "wb1/max_current=22; wb2/max_current=0"},
	})
	if got := s.output("wb2_reason"); got != ReasonDisabled {
		t.Fatalf("wb2 reason %v, want %q", got, ReasonDisabled)
	}
	s2 := newSiteMin(t, 1, 6, nil)
	run(t, s2, []step{
		{name: "no room: disabled, current untouched", do: base(30), writes: "wb1/enabled=false", reason: ReasonNoCapacity},
		{name: "room again: current, then enabled", do: base(10), writes: "wb1/max_current=22; wb1/enabled=true", reason: ReasonAllocated},
	})
}

// TestExportMakesCurrentNegative: a phase whose power the meter reports
// negative (export) counts its current as negative.
func TestExportMakesCurrentNegative(t *testing.T) {
	b := bus.New()
	var pts []model.Datapoint
	for _, n := range []string{"current_l1", "current_l2", "current_l3", "ac_power_l1", "ac_power_l2", "ac_power_l3"} {
		pts = append(pts, model.Datapoint{Name: n, Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric}})
	}
	must(t, b.AddDevice(model.DeviceState{Device: "m"}, pts, nil, 0))
	vals := map[string]float64{"current_l1": 10, "current_l2": 5, "current_l3": 7, "ac_power_l1": -2200, "ac_power_l2": 1100}
	for n, v := range vals {
		b.Publish(model.Value{Device: "m", Name: n, Value: v, Quality: model.Good})
	}
	cfg := NewConfig()
	cfg.SiteMaxCurrent, cfg.Meter = 32, "m"
	c := New(b, cfg, nil)
	c.Resolve()
	if got, ok := c.siteCurrents(); !ok || got != [3]float64{-10, 5, 7} {
		t.Fatalf("site currents %v %v, want [-10 5 7] (L3 has no power reading: as read)", got, ok)
	}
}

// TestCurrentLimitCycles: the <charger>_current_limit input (the charging
// manager's wallbox control, dialect/cfos) caps one charger at run time;
// below its minimum the charger gets 0 with its own reason; the limit is
// checked against the charger's maximum by the write path.
func TestCurrentLimitCycles(t *testing.T) {
	s := newSite(t, 2, func(c *Config) {
		c.Chargers = []Charger{{Device: "wb1", MaxCurrent: 16}, {Device: "wb2", MaxCurrent: 16}}
	})
	run(t, s, []step{
		{name: "22 A free, 11 A each", do: base(10), writes: "wb1/max_current=11; wb2/max_current=11", reason: ReasonAllocated},
		{name: "wb1 capped at 8 A: wb2 gets the rest", do: func(s *site) { s.input("wb1_current_limit", 8.0) }, writes: "wb1/max_current=8; wb2/max_current=14"},
		{name: "duplicate cap: no writes", do: func(s *site) { s.input("wb1_current_limit", 8.0) }, writes: ""},
		{name: "more room: wb2 to its maximum, wb1 stays capped", do: base(0), writes: "wb2/max_current=16"},
		{name: "cap 4 A is below the 6 A minimum: 0", do: func(s *site) { s.input("wb1_current_limit", 4.0) }, writes: "wb1/max_current=0"},
		{name: "cap lifted", do: func(s *site) { s.input("wb1_current_limit", 16.0) }, writes: "wb1/max_current=16"},
	})
	if got := s.output("wb1_current_limit"); got != 16.0 {
		t.Fatalf("wb1_current_limit = %v, want 16", got)
	}
	s.input("wb1_current_limit", 4.0)
	s.cycle()
	if got := s.output("wb1_reason"); got != ReasonLimited {
		t.Fatalf("wb1_reason = %v, want %q", got, ReasonLimited)
	}
	if _, err := s.b.Write(context.Background(), DeviceID, "wb1_current_limit", 17.0); err == nil {
		t.Fatal("a limit above the charger's maximum (16 A) was accepted")
	}
}
