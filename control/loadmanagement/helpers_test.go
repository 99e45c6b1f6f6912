package loadmanagement

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sim"
)

// site is an in-process simulated site on simulated time: a grid meter
// whose phase currents are a base load plus the currents of wallbox-sim
// models, a price datapoint, and the controller on a real bus (the real
// write path: limits, audit source). Cycles run one by one.
type site struct {
	t      testing.TB
	b      *bus.Bus
	ctl    *Controller
	base   [3]float64 // A per phase, other load
	pv     float64    // W of PV production (only lowers the grid power)
	price  float64
	stale  bool // the meter does not answer
	boxes  []*sim.Wallbox
	ids    []string
	writes []string // "<device>/<name>=<value>" of this cycle
	now    int64    // ms
}

func num(v float64) *float64 { return &v }

// newSite registers a meter, a tariff and n wallboxes (wb1…) and a
// controller for cfg (NewConfig with the changes of edit).
func newSite(t testing.TB, n int, edit func(*Config)) *site {
	t.Helper()
	return newSiteMin(t, n, 0, edit)
}

// newSiteMin is newSite with wallboxes whose max_current datapoint has min
// lowest (a device that does not take 0 A).
func newSiteMin(t testing.TB, n int, lowest float64, edit func(*Config)) *site {
	t.Helper()
	s := &site{t: t, b: bus.New(), now: 1_000_000}
	meter := []model.Datapoint{
		{Name: "current_l1", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "A"}},
		{Name: "current_l2", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "A"}},
		{Name: "current_l3", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "A"}},
		{Name: "ac_power", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W", Role: "grid_power"}},
	}
	must(t, s.b.AddDevice(model.DeviceState{Device: "grid"}, meter, nil, 0))
	must(t, s.b.AddDevice(model.DeviceState{Device: "tariff"}, []model.Datapoint{{Name: "price", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric}}}, nil, 0))
	for i := range n {
		id := fmt.Sprintf("wb%d", i+1)
		w := sim.NewWallbox()
		s.boxes, s.ids = append(s.boxes, w), append(s.ids, id)
		must(t, s.b.AddDevice(model.DeviceState{Device: id}, wallboxPoints(lowest), &boxWriter{s: s, id: id, w: w}, 0))
	}
	cfg := NewConfig()
	cfg.SiteMaxCurrent = 32
	cfg.Price.Datapoint = "tariff/price"
	cfg.Price.Limit = 0.30
	cfg.RaiseDelay = 0 // the tables show each decision at once; TestRaiseDelay covers it
	if edit != nil {
		edit(cfg)
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	s.ctl = New(s.b, cfg, nil)
	must(t, s.ctl.Register())
	s.publish()
	s.ctl.Resolve()
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wallboxPoints(lowest float64) []model.Datapoint {
	zero, top := lowest, 32.0
	pts := []model.Datapoint{
		{Name: "max_current", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "A", Min: &zero, Max: &top}},
		{Name: "enabled", Meta: model.Meta{Kind: model.Actuator, Format: model.Bool}},
		{Name: "phases", Meta: model.Meta{Kind: model.Actuator, Format: model.DiscreteNumeric, Allowed: []any{1.0, 3.0}}},
		{Name: "status", Meta: model.Meta{Kind: model.Sensor, Format: model.DiscreteText}},
	}
	for p := 1; p <= 3; p++ {
		pts = append(pts, model.Datapoint{Name: fmt.Sprintf("current_l%d", p), Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "A"}})
	}
	return pts
}

// boxWriter applies writes to a wallbox model, records them and reads back.
type boxWriter struct {
	s  *site
	id string
	w  *sim.Wallbox
}

func (bw *boxWriter) Write(ctx context.Context, name string, v any) (any, error) {
	if src := bus.Source(ctx); src != bus.SourceLoadManagement {
		bw.s.t.Errorf("write %s/%s with source %q, want %q", bw.id, name, src, bus.SourceLoadManagement)
	}
	var err error
	switch name {
	case "max_current":
		err = bw.w.SetMaxCurrent(v.(float64))
	case "enabled":
		bw.w.SetEnabled(v.(bool))
	case "phases":
		err = bw.w.SetPhases(int(v.(float64)))
	}
	if err != nil {
		return nil, err
	}
	bw.s.writes = append(bw.s.writes, fmt.Sprintf("%s/%s=%v", bw.id, name, v))
	bw.s.b.Publish(model.Value{Device: bw.id, Name: name, Value: v, Time: bw.s.now, Quality: model.Good})
	return v, nil
}

// currents is the site's current per phase: base load plus every wallbox.
func (s *site) currents() [3]float64 {
	out := s.base
	for _, w := range s.boxes {
		c := w.Currents()
		for p := range 3 {
			out[p] += c[p]
		}
	}
	return out
}

// publish puts the meter, the tariff and the wallboxes' values on the bus.
func (s *site) publish() {
	q := model.Good
	if s.stale {
		q = model.Stale
	}
	cur := s.currents()
	vals := []model.Value{{Device: "grid", Name: "ac_power", Value: (cur[0]+cur[1]+cur[2])*230 - s.pv, Time: s.now, Quality: q},
		{Device: "tariff", Name: "price", Value: s.price, Time: s.now, Quality: model.Good}}
	for p := range 3 {
		vals = append(vals, model.Value{Device: "grid", Name: fmt.Sprintf("current_l%d", p+1), Value: cur[p], Time: s.now, Quality: q})
	}
	for i, w := range s.boxes {
		c := w.Currents()
		for p := range 3 {
			vals = append(vals, model.Value{Device: s.ids[i], Name: fmt.Sprintf("current_l%d", p+1), Value: c[p], Time: s.now, Quality: model.Good})
		}
		status := [...]string{"available", "connected", "charging"}[w.Status()]
		vals = append(vals, model.Value{Device: s.ids[i], Name: "status", Value: status, Time: s.now, Quality: model.Good},
			model.Value{Device: s.ids[i], Name: "max_current", Value: w.MaxCurrent(), Time: s.now, Quality: model.Good},
			model.Value{Device: s.ids[i], Name: "enabled", Value: w.Enabled(), Time: s.now, Quality: model.Good},
			model.Value{Device: s.ids[i], Name: "phases", Value: float64(w.Phases()), Time: s.now, Quality: model.Good})
	}
	s.b.Publish(vals...)
}

// cycle publishes the readings, runs one controller cycle, steps the
// wallboxes by one interval and returns the cycle's writes.
func (s *site) cycle() []string {
	s.writes = nil
	s.publish()
	s.ctl.Cycle(context.Background(), s.now)
	for _, w := range s.boxes {
		w.Step(time.Second)
	}
	s.now += 1000
	return s.writes
}

// input writes an input of the loadmanagement device through the bus.
func (s *site) input(name string, v any) {
	s.t.Helper()
	if _, err := s.b.Write(context.Background(), DeviceID, name, v); err != nil {
		s.t.Fatalf("input %s=%v: %v", name, v, err)
	}
}

// output reads an output of the loadmanagement device.
func (s *site) output(name string) any {
	_, v, _, _ := s.b.Datapoint(DeviceID, name)
	return v.Value
}

// step is one cycle (OpenEMS style): what happens before it, the writes
// it must make (in order) and optionally the reason of wb1.
type step struct {
	name   string
	do     func(*site)
	writes string // "; "-joined, "" = none
	reason string // wb1's reason, "" = not checked
}

// run drives the site step by step and checks the writes.
func run(t *testing.T, s *site, steps []step) {
	t.Helper()
	for i, st := range steps {
		if st.do != nil {
			st.do(s)
		}
		got := strings.Join(s.cycle(), "; ")
		if got != st.writes {
			t.Fatalf("step %d (%s): writes\n  %q\nwant\n  %q\n(reasons %v)", i, st.name, got, st.writes, s.reasons())
		}
		if st.reason != "" && s.output("wb1_reason") != st.reason {
			t.Fatalf("step %d (%s): wb1 reason %q, want %q", i, st.name, s.output("wb1_reason"), st.reason)
		}
	}
}

func (s *site) reasons() []any {
	var out []any
	for _, id := range s.ids {
		out = append(out, s.output(id+"_allocated_current"), s.output(id+"_reason"))
	}
	return out
}

func base(a float64) func(*site) { return func(s *site) { s.base = [3]float64{a, a, a} } }
