package control

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// fakeBus knows room/setpoint (15..30) and room/temperature and records writes.
type fakeBus struct {
	writes []any
	source []string
	fail   error
}

func (f *fakeBus) Datapoint(device, name string) (model.Datapoint, model.Value, bool, bool) {
	switch model.Key(device, name) {
	case "room/setpoint":
		return model.Datapoint{Device: device, Name: name, Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Min: fl(15), Max: fl(30)}}, model.Value{}, false, true
	case "room/temperature":
		return model.Datapoint{Device: device, Name: name, Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric}}, model.Value{Value: 21.0, Quality: model.Good}, true, true
	}
	return model.Datapoint{}, model.Value{}, false, false
}

func (f *fakeBus) Write(ctx context.Context, _, _ string, v any) (any, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	f.writes = append(f.writes, v)
	f.source = append(f.source, bus.Source(ctx))
	return v, nil
}

// step is one cycle: something happens at time now, then the controller
// evaluates; want is the writes it makes in that cycle.
type step struct {
	now    int64
	do     func(t *testing.T, c *Controller)
	writes []any
}

func setpoint(json string) func(*testing.T, *Controller) {
	return func(t *testing.T, c *Controller) {
		if err := c.SetSetpoint("room", "setpoint", []byte(json), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func schedule(json string) func(*testing.T, *Controller) {
	return func(t *testing.T, c *Controller) {
		if err := c.SetSchedule("room", "setpoint", []byte(json), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func temperature(v float64) func(*testing.T, *Controller) {
	return func(_ *testing.T, c *Controller) {
		c.sensorValue(model.Value{Device: "room", Name: "temperature", Value: v, Quality: model.Good})
	}
}

// run drives the controller cycle by cycle (OpenEMS style: input → expected writes).
func run(t *testing.T, c *Controller, b *fakeBus, steps []step) {
	t.Helper()
	c.initSensors()
	for i, s := range steps {
		c.now = func() int64 { return s.now }
		if s.do != nil {
			s.do(t, c)
		}
		before := len(b.writes)
		c.evaluate(context.Background())
		got := b.writes[before:]
		if len(got) != len(s.writes) {
			t.Fatalf("step %d (t=%d): writes %v, want %v (decision %+v)", i, s.now, got, s.writes, c.pairs["room/setpoint"].decision)
		}
		for j := range got {
			if !model.SameValue(got[j], s.writes[j]) {
				t.Fatalf("step %d: writes %v, want %v", i, got, s.writes)
			}
		}
	}
}

// TestControllerCycles: decisions are written once when they change, items
// end at to_timestamp and start at from_timestamp, sensor changes switch
// between schedule and preferred value.
func TestControllerCycles(t *testing.T) {
	b := &fakeBus{}
	c, err := New(b, []Pair{{Actuator: "room/setpoint", Sensor: "room/temperature"}}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, b, []step{
		{now: 1000, writes: nil}, // nothing set: leave alone
		{now: 1000, do: setpoint(`[{"from_timestamp": null, "to_timestamp": null, "preferred_value": 22, "min_value": 20, "max_value": 23}]`), writes: []any{22.0}},
		{now: 1500, writes: nil}, // unchanged decision: no redundant write
		{now: 2000, do: schedule(`[{"from_timestamp": 3000, "to_timestamp": 5000, "value": 26}]`), writes: nil}, // future item
		{now: 3000, writes: []any{26.0}},                        // starts at from_timestamp; sensor 21 within [20, 23]
		{now: 3500, do: temperature(23.5), writes: []any{22.0}}, // sensor out of range: preferred
		{now: 3600, do: temperature(23.4), writes: nil},
		{now: 3700, do: temperature(22.0), writes: []any{26.0}},
		{now: 5000, writes: []any{22.0}},               // the schedule item ends at to_timestamp
		{now: 6000, do: setpoint(`null`), writes: nil}, // cleared: leave alone
	})
	for _, s := range b.source {
		if s != bus.SourceControl {
			t.Fatalf("write source %q, want %q", s, bus.SourceControl)
		}
	}
}

// TestControllerRetriesFailedWrite: a refused write is retried later, not lost.
func TestControllerRetriesFailedWrite(t *testing.T) {
	b := &fakeBus{fail: errors.New("rate limited")}
	c, _ := New(b, []Pair{{Actuator: "room/setpoint", Sensor: "room/temperature"}}, "", nil)
	c.now = func() int64 { return 1000 }
	if err := c.SetSetpoint("room", "setpoint", []byte(`[{"preferred_value": 22}]`), 0); err != nil {
		t.Fatal(err)
	}
	if wait := c.evaluate(context.Background()); wait != retryAfter {
		t.Fatalf("retry in %s, want %s", wait, retryAfter)
	}
	b.fail = nil
	c.now = func() int64 { return 1000 + retryAfter.Milliseconds() }
	c.evaluate(context.Background())
	if len(b.writes) != 1 || b.writes[0] != 22.0 {
		t.Fatalf("writes after the retry: %v", b.writes)
	}
}

// TestControllerStateSurvivesRestart: setpoints and schedules are kept in
// the state file; an older or replayed message changes nothing.
func TestControllerStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.json")
	pairs := []Pair{{Actuator: "room/setpoint", Sensor: "room/temperature"}}
	c, _ := New(&fakeBus{}, pairs, path, nil)
	if err := c.SetSetpoint("room", "setpoint", []byte(`[{"preferred_value": 24}]`), 5000); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSetpoint("room", "setpoint", []byte(`[{"preferred_value": 18}]`), 4000); err != nil {
		t.Fatal(err)
	}
	c2, err := New(&fakeBus{}, pairs, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := c2.Setpoint("room", "setpoint")
	if len(sp) != 1 || sp[0].Preferred != 24.0 {
		t.Fatalf("after restart: %+v, want the newer setpoint 24", sp)
	}
	if err := c2.SetSetpoint("room", "temperature", []byte(`null`), 0); !errors.Is(err, ErrNotControlled) {
		t.Fatalf("setpoint of an uncontrolled datapoint: %v", err)
	}
	if err := c2.SetSetpoint("room", "setpoint", []byte(`[{"preferred_value": 99}]`), 0); err == nil {
		t.Fatal("a setpoint above the actuator's max was taken")
	}
}
