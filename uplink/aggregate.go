package uplink

import (
	"sort"
	"time"

	"github.com/gridbox/gridbox/model"
)

// aggregator keeps per-datapoint rollups on aligned windows. Every datapoint
// gets its last value carried forward onto the window's end ("<dp>/last":
// the semantics of gauge, cumulative and actuator streams); power
// datapoints (unit W or kW) also get mean, min, max and count of the
// window. Rollups are named <device>/<name>/<stat> on the wire.
type aggregator struct {
	window int64 // ms
	unit   func(device, name string) string
	cur    int64 // end of the open window; 0 before the first value
	points map[string]*rollup
}

type rollup struct {
	device, name  string
	last          model.Value
	power         bool
	sum, min, max float64
	n             int64
}

func newAggregator(window time.Duration, unit func(device, name string) string) *aggregator {
	return &aggregator{window: window.Milliseconds(), unit: unit, points: map[string]*rollup{}}
}

func (a *aggregator) end(ts int64) int64 { return (ts/a.window + 1) * a.window }

// add takes one value of the open window (a late value of a closed window
// only updates the carried-forward last value).
func (a *aggregator) add(v model.Value) {
	key := v.Device + "/" + v.Name
	r, ok := a.points[key]
	if !ok {
		u := a.unit(v.Device, v.Name)
		r = &rollup{device: v.Device, name: v.Name, power: u == "W" || u == "kW"}
		a.points[key] = r
	}
	if a.cur == 0 {
		a.cur = a.end(v.Time)
	}
	if v.Time >= r.last.Time {
		r.last = v
	}
	f, num := toFloat(v.Value)
	if !r.power || !num || v.Quality != model.Good || a.end(v.Time) != a.cur {
		return
	}
	if r.n == 0 || f < r.min {
		r.min = f
	}
	if r.n == 0 || f > r.max {
		r.max = f
	}
	r.sum += f
	r.n++
}

// flush emits the rollups of every window that ended by now.
func (a *aggregator) flush(now int64) []model.Value {
	var out []model.Value
	for a.cur != 0 && now >= a.cur {
		keys := make([]string, 0, len(a.points))
		for k := range a.points {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			r := a.points[k]
			mk := func(stat string, v any) model.Value {
				return model.Value{Device: r.device, Name: r.name + "/" + stat, Value: v, Time: a.cur, Quality: r.last.Quality}
			}
			out = append(out, mk("last", r.last.Value))
			if r.power && r.n > 0 {
				out = append(out, mk("mean", r.sum/float64(r.n)), mk("min", r.min), mk("max", r.max), mk("count", r.n))
			}
			r.sum, r.n = 0, 0
		}
		a.cur += a.window
	}
	return out
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}
