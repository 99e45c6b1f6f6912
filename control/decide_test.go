package control

import (
	"testing"

	"github.com/gridbox/gridbox/model"
)

func ms(v int64) *int64         { return &v }
func fl(v float64) *float64     { return &v }
func sensor(v any) *model.Value { return &model.Value{Value: v, Quality: model.Good} }

// TestDecide is the decision table of the setpoint/schedule semantics.
func TestDecide(t *testing.T) {
	const now = 10_000
	pref := func(v any) SetpointItem { return SetpointItem{Preferred: v} }
	disc := SetpointItem{Preferred: "heat", Acceptable: []any{"heat", "eco"}}
	cont := SetpointItem{Preferred: 21.0, Min: fl(20), Max: fl(23)}
	sched := func(v any) ScheduleItem { return ScheduleItem{Value: v} }
	cases := []struct {
		name   string
		sp     []SetpointItem
		sc     []ScheduleItem
		sensor *model.Value
		act    bool
		value  any
	}{
		{"nothing active: leave alone", nil, nil, sensor(21.0), false, nil},
		{"only setpoint", []SetpointItem{pref(22.0)}, nil, sensor(21.0), true, 22.0},
		{"only schedule", nil, []ScheduleItem{sched(25.0)}, sensor(21.0), true, 25.0},
		{"both, setpoint without flexibility", []SetpointItem{pref(22.0)}, []ScheduleItem{sched(25.0)}, sensor(21.0), true, 22.0},
		{"discrete, sensor acceptable", []SetpointItem{disc}, []ScheduleItem{sched("eco")}, sensor("eco"), true, "eco"},
		{"discrete, sensor not acceptable", []SetpointItem{disc}, []ScheduleItem{sched("eco")}, sensor("off"), true, "heat"},
		{"continuous, sensor within", []SetpointItem{cont}, []ScheduleItem{sched(25.0)}, sensor(22.0), true, 25.0},
		{"continuous, sensor on the bound", []SetpointItem{cont}, []ScheduleItem{sched(25.0)}, sensor(23.0), true, 25.0},
		{"continuous, sensor above", []SetpointItem{cont}, []ScheduleItem{sched(25.0)}, sensor(23.5), true, 21.0},
		{"continuous, sensor below", []SetpointItem{cont}, []ScheduleItem{sched(25.0)}, sensor(19.0), true, 21.0},
		{"continuous, open upper bound", []SetpointItem{{Preferred: 21.0, Min: fl(20)}}, []ScheduleItem{sched(25.0)}, sensor(99.0), true, 25.0},
		{"no sensor value yet: schedule", []SetpointItem{cont}, []ScheduleItem{sched(25.0)}, nil, true, 25.0},
		{"sensor null: schedule", []SetpointItem{disc}, []ScheduleItem{sched("eco")}, sensor(nil), true, "eco"},
		{"setpoint expired at to_timestamp", []SetpointItem{{Preferred: 22.0, To: ms(now)}}, nil, sensor(21.0), false, nil},
		{"setpoint still active just before to", []SetpointItem{{Preferred: 22.0, To: ms(now + 1)}}, nil, sensor(21.0), true, 22.0},
		{"schedule expired, setpoint remains", []SetpointItem{pref(22.0)}, []ScheduleItem{{Value: 25.0, To: ms(now)}}, sensor(21.0), true, 22.0},
		{"future schedule not yet active", nil, []ScheduleItem{{Value: 25.0, From: ms(now + 1)}}, sensor(21.0), false, nil},
		{"schedule active from from_timestamp", nil, []ScheduleItem{{Value: 25.0, From: ms(now)}}, sensor(21.0), true, 25.0},
		{"first active item of a list", nil, []ScheduleItem{{Value: 1.0, To: ms(now - 5)}, {Value: 2.0, From: ms(now - 5), To: ms(now + 5)}, {Value: 3.0, From: ms(now + 5)}}, nil, true, 2.0},
	}
	for _, c := range cases {
		d := Decide(now, c.sp, c.sc, c.sensor)
		if d.Act != c.act || !model.SameValue(d.Value, c.value) || d.Reason == "" {
			t.Errorf("%s: got %+v, want act=%v value=%v", c.name, d, c.act, c.value)
		}
	}
}

// TestNextBoundary: the controller wakes at the next start or end.
func TestNextBoundary(t *testing.T) {
	sp := []SetpointItem{{From: ms(50), To: ms(200)}}
	sc := []ScheduleItem{{From: ms(120)}, {To: ms(90)}}
	for now, want := range map[int64]int64{0: 50, 50: 90, 90: 120, 120: 200} {
		if got, ok := nextBoundary(sp, sc, now); !ok || got != want {
			t.Errorf("at %d: %d %v, want %d", now, got, ok, want)
		}
	}
	if _, ok := nextBoundary(sp, sc, 200); ok {
		t.Error("a boundary after the last one")
	}
}

// TestParseItemsListsEveryError: a refused list names every item and key.
func TestParseItemsListsEveryError(t *testing.T) {
	act := model.Datapoint{Device: "room", Name: "setpoint", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Min: fl(15), Max: fl(30)}}
	_, err := ParseSetpoint([]byte(`[{"from_timestamp": 5, "to_timestamp": 5, "preferred_value": 40},
		{"preferred_value": 20, "min_value": 25, "max_value": 21}, {"preferred_value": "x"}]`), act)
	want := []string{"[0].from_timestamp: 5 is not before to_timestamp 5", "[0].preferred_value: above max 30", "[1].min_value: 25 is above max_value 21", "[2].preferred_value: "}
	probs := err.(ItemErrors).Problems()
	if len(probs) != len(want) {
		t.Fatalf("problems %q, want %d", probs, len(want))
	}
	for i, w := range want {
		if len(probs[i]) < len(w) || probs[i][:len(w)] != w {
			t.Errorf("problem %d = %q, want %q…", i, probs[i], w)
		}
	}
	if _, err := ParseSchedule([]byte(`[{"value": 20, "valeu": 1}]`), act); err == nil {
		t.Error("unknown key accepted")
	}
	if items, err := ParseSchedule([]byte(`null`), act); err != nil || items != nil {
		t.Errorf("null: %v %v, want a cleared schedule", items, err)
	}
	disc := model.Datapoint{Meta: model.Meta{Kind: model.Actuator, Format: model.DiscreteNumeric, Allowed: []any{0.0, 1.0, 2.0}}}
	if _, err := ParseSetpoint([]byte(`[{"preferred_value": 1, "acceptable_values": [1, 5]}]`), disc); err == nil {
		t.Error("acceptable value outside allowed accepted")
	}
}
