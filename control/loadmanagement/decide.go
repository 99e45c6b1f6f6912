package loadmanagement

import "math"

// pvState is mode pv's start/stop hysteresis: charging from surplus runs
// once the surplus stayed above start_surplus for start_delay and stops once
// it stayed below stop_surplus for stop_delay.
type pvState struct {
	on    bool
	since int64 // ms when the surplus crossed the threshold towards a change; 0 = not crossed
}

// update feeds one surplus reading (W) at now (ms) and reports whether PV charging runs.
func (s *pvState) update(surplus float64, now int64, cfg PV) bool {
	crossing := (!s.on && surplus >= cfg.StartSurplus) || (s.on && surplus < cfg.StopSurplus)
	if !crossing {
		s.since = 0
		return s.on
	}
	if s.since == 0 {
		s.since = now
	}
	delay := cfg.StartDelay.D()
	if s.on {
		delay = cfg.StopDelay.D()
	}
	if now-s.since >= delay.Milliseconds() {
		s.on, s.since = !s.on, 0
	}
	return s.on
}

// decide sets every charger's allocation and reason from the site currents.
func (c *Controller) decide(in inputs, site [3]float64, now int64) {
	limit := c.cfg.SiteMaxCurrent * in.prc / 100
	var avail [3]float64
	drawn := 0.0 // A × phases the chargers draw now
	meas := make([][3]float64, len(c.chargers))
	for i, ch := range c.chargers {
		meas[i] = c.measured(ch)
		drawn += meas[i][0] + meas[i][1] + meas[i][2]
	}
	for p := range 3 {
		other := site[p]
		for i := range c.chargers {
			other -= meas[i][p]
		}
		avail[p] = limit - other
	}
	gate, budget := c.gate(in.mode, drawn, now)
	var idx []int
	for i, ch := range c.chargers {
		c.readPhases(ch)
		active, why := c.active(ch)
		switch {
		case !active:
			ch.alloc, ch.reason = 0, why
		case in.limit[ch.Device] < wholeMin(ch.MinCurrent):
			ch.alloc, ch.reason = 0, ReasonLimited
		case gate != "":
			ch.alloc, ch.reason = 0, gate
		default:
			idx = append(idx, i)
		}
	}
	if budget >= 0 && len(idx) > 0 && c.pv.on {
		// While PV charging runs, the highest-priority charger keeps its minimum even
		// when the surplus dips (until stop_surplus/stop_delay stop it).
		top := c.chargers[idx[0]]
		for _, i := range idx {
			if in.priority[c.chargers[i].Device] > in.priority[top.Device] {
				top = c.chargers[i]
			}
		}
		first := c.demandOf(top, top.phases, in)
		budget = max(budget, first.min*first.phaseCount())
	}
	c.distribute(idx, avail, budget, in, limit, now)
	for _, ch := range c.chargers {
		ch.known = true
	}
}

// gate applies the mode: a reason for every charger to get 0 (empty: go
// on) and the power budget in amps × phases (negative: none).
func (c *Controller) gate(mode string, drawn float64, now int64) (string, float64) {
	switch mode {
	case ModePrice:
		price, ok := c.good(c.cfg.Price.Datapoint)
		if !ok {
			return ReasonPriceStale, -1
		}
		if price >= c.cfg.Price.Limit {
			return ReasonPriceHigh, -1
		}
	case ModePV:
		grid, ok := c.good(c.grid)
		if c.grid == "" || !ok {
			c.pv = pvState{}
			return ReasonPVStale, -1
		}
		surplus := -grid + drawn*c.cfg.Voltage
		if !c.pv.update(surplus, now, c.cfg.PV) {
			return ReasonPVWaiting, -1
		}
		return "", max(surplus/c.cfg.Voltage, 0)
	}
	c.pv = pvState{} // back in pv, the start delay runs again
	return "", -1
}

// holdRaise reports whether a charger's allocation stays at its previous
// value because target is higher and has not been so for raise_delay yet
// (meter noise would otherwise move it up and down every cycle). Lower
// targets and phase switches apply at once.
func (c *Controller) holdRaise(ch *charger, target float64, now int64) bool {
	if !ch.known || ch.reason == ReasonMeterStale || target <= ch.alloc || ch.lastSwitch == now {
		ch.raiseSince = 0
		return false
	}
	if ch.raiseSince == 0 {
		ch.raiseSince = now
	}
	if now-ch.raiseSince >= c.cfg.RaiseDelay.D().Milliseconds() {
		ch.raiseSince = 0
		return false
	}
	return true
}

// readPhases takes a switchable charger's phases from the device once.
func (c *Controller) readPhases(ch *charger) {
	if ch.SwitchPhases == "" || ch.phasesRead {
		return
	}
	if v, ok := c.good(ch.SwitchPhases); ok && (v == 1 || v == 3) {
		ch.phases, ch.phasesRead = int(v), true
	}
}

// demandOf is a charger as the allocator sees it, charging on phases.
func (c *Controller) demandOf(ch *charger, phases int, in inputs) demand {
	hi := ch.MaxCurrent
	if meta, _, _, ok := c.bus.Datapoint(ch.Device, "max_current"); ok && meta.Max != nil {
		hi = min(hi, *meta.Max)
	}
	if l, ok := in.limit[ch.Device]; ok {
		hi = min(hi, l)
	}
	return demand{on: phaseSet(phases, ch.Phase), min: wholeMin(ch.MinCurrent), max: math.Floor(hi + 1e-9), prio: in.priority[ch.Device]}
}

// distribute allocates among the chargers idx, switching phases of
// chargers that have switch_phases where that lets them charge (3 → 1) or
// gives them at least min + hysteresis on three phases (1 → 3).
func (c *Controller) distribute(idx []int, avail [3]float64, budget float64, in inputs, limit float64, now int64) {
	priority := in.mode == ModePriority
	ds := make([]demand, len(idx))
	for k, i := range idx {
		ds[k] = c.demandOf(c.chargers[i], c.chargers[i].phases, in)
	}
	out := allocate(ds, avail, budget, priority)
	switched := map[int]bool{}
	for k, i := range idx {
		ch := c.chargers[i]
		if ch.SwitchPhases == "" || (ch.lastSwitch != 0 && now-ch.lastSwitch < c.cfg.MinSwitchInterval.D().Milliseconds()) {
			continue
		}
		try := 3
		if ch.phases == 3 {
			if out[k] > 0 {
				continue
			}
			try = 1
		}
		alt := append([]demand(nil), ds...)
		alt[k] = c.demandOf(ch, try, in)
		got := allocate(alt, avail, budget, priority)
		if (try == 1 && got[k] > 0) || (try == 3 && got[k] >= alt[k].min+c.cfg.Hysteresis) {
			ch.phases, ch.lastSwitch, ds, out = try, now, alt, got
			switched[i] = true
			c.log.Info("load management switches phases", "device", ch.Device, "phases", try)
		}
	}
	for k, i := range idx {
		ch := c.chargers[i]
		prev, held := ch.alloc, c.holdRaise(ch, out[k], now)
		ch.alloc, ch.reason = out[k], ReasonAllocated
		if held {
			ch.alloc, ch.reason = prev, ReasonRaiseDelay
			continue
		}
		switch {
		case out[k] == 0 && limit <= 0:
			ch.reason = ReasonLimitZero
		case out[k] == 0:
			ch.reason = ReasonNoCapacity
		case switched[i]:
			ch.reason = ReasonSwitchPhase
		}
	}
}
