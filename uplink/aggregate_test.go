package uplink

import (
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

func TestAggregatorWindows(t *testing.T) {
	units := map[string]string{"p": "W", "e": "kWh"}
	a := newAggregator(5*time.Minute, func(_, name string) model.Meta { return model.Meta{Unit: units[name]} })
	const w = 300000
	base := int64(10 * w)
	for i, v := range []float64{100, 300, 200} {
		a.add(model.Value{Device: "m", Name: "p", Value: v, Time: base + int64(i)*1000, Quality: model.Good})
	}
	a.add(model.Value{Device: "m", Name: "e", Value: 12.5, Time: base + 500, Quality: model.Good})
	if out := a.flush(base + w - 1); len(out) != 0 {
		t.Fatalf("window still open, got %v", out)
	}
	got := map[string]any{}
	for _, v := range a.flush(base + w) {
		if v.Time != base+w {
			t.Fatalf("%s at %d, want the window's end %d", v.Name, v.Time, base+w)
		}
		got[v.Device+"/"+v.Name] = v.Value
	}
	want := map[string]any{"m/p/last": 200.0, "m/p/mean": 200.0, "m/p/min": 100.0, "m/p/max": 300.0, "m/p/count": int64(3), "m/e/last": 12.5}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	// no new value in the next window: the last values are carried forward, no power stats
	next := a.flush(base + 2*w)
	if len(next) != 2 || next[0].Value != 12.5 || next[1].Value != 200.0 {
		t.Fatalf("carried forward: %v", next)
	}
}

// TestAggregatorSumsDeltaStreams: a delta stream's amounts are spread over
// the time since the previous sample onto the windows and summed per window.
func TestAggregatorSumsDeltaStreams(t *testing.T) {
	a := newAggregator(time.Minute, func(_, name string) model.Meta {
		return model.Meta{Unit: "Wh", MetricKind: model.MetricDelta}
	})
	const w = 60000
	base := int64(100 * w)
	add := func(v float64, at int64) {
		a.add(model.Value{Device: "m", Name: "e", Value: v, Time: at, Quality: model.Good})
	}
	add(5, base+10000)    // first sample: all in its own window
	add(30, base+40000)   // 30 s since the previous: all in window 1
	add(60, base+w+20000) // 40 s since the previous: 20 s in window 1 (30 Wh), 20 s in window 2 (30 Wh)
	add(10, base+w+30000) // window 2
	sums := func(now int64) map[int64]any {
		out := map[int64]any{}
		for _, v := range a.flush(now) {
			if v.Name != "e/sum" {
				t.Fatalf("unexpected rollup %s", v.Name)
			}
			out[v.Time] = v.Value
		}
		return out
	}
	if got := sums(base + w); got[base+w] != 65.0 || len(got) != 1 {
		t.Fatalf("window 1: %v, want 5+30+30 = 65", got)
	}
	if got := sums(base + 2*w); got[base+2*w] != 40.0 || len(got) != 1 {
		t.Fatalf("window 2: %v, want 30+10 = 40", got)
	}
	if got := sums(base + 3*w); len(got) != 0 {
		t.Fatalf("a window without amounts: %v, want no sum", got)
	}
	// A late amount for a flushed window counts in the open one.
	add(6, base+3*w+30000) // spans windows 2, 3 and 4; 2 and 3 are flushed already
	got := sums(base + 4*w)
	if v, _ := got[base+4*w].(float64); v < 5.999 || v > 6.001 {
		t.Fatalf("late amounts: %v, want all 6 in the open window", got)
	}
}
