package uplink

import (
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

func TestAggregatorWindows(t *testing.T) {
	units := map[string]string{"p": "W", "e": "kWh"}
	a := newAggregator(5*time.Minute, func(_, name string) string { return units[name] })
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
