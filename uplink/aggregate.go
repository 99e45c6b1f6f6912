package uplink

import (
	"sort"
	"time"

	"github.com/gridbox/gridbox/model"
)

// aggregator keeps per-datapoint rollups on aligned windows. Gauge,
// cumulative and actuator streams get their last value carried forward onto
// the window's end ("<dp>/last"); power datapoints (unit W or kW) also get
// mean, min, max and count of the window. Delta and total streams (the
// datapoint's metric_kind) are amounts per sample: each is interpolated
// over the time since the stream's previous sample onto the windows it
// spans and summed per window ("<dp>/sum"). Rollups are named
// <device>/<name>/<stat> on the wire.
type aggregator struct {
	window int64 // ms
	meta   func(device, name string) model.Meta
	cur    int64 // end of the open window; 0 before the first value
	points map[string]*rollup
}

type rollup struct {
	device, name  string
	last          model.Value
	power         bool
	sum, min, max float64
	n             int64
	// delta and total streams
	summed bool
	prev   int64             // time of the previous sample; 0 = none
	amount map[int64]float64 // summed amount by window end
}

// maxSpread bounds the time one amount is spread over: a sample after a
// longer gap (an outage) counts wholly in its own window.
const maxSpread = 24 * time.Hour

func newAggregator(window time.Duration, meta func(device, name string) model.Meta) *aggregator {
	return &aggregator{window: window.Milliseconds(), meta: meta, points: map[string]*rollup{}}
}

func (a *aggregator) end(ts int64) int64 { return (ts/a.window + 1) * a.window }

// add takes one value of the open window (a late value of a closed window
// only updates the carried-forward last value).
func (a *aggregator) add(v model.Value) {
	key := v.Device + "/" + v.Name
	r, ok := a.points[key]
	if !ok {
		m := a.meta(v.Device, v.Name)
		r = &rollup{device: v.Device, name: v.Name, power: m.Unit == "W" || m.Unit == "kW", summed: m.Summed()}
		a.points[key] = r
	}
	if a.cur == 0 {
		a.cur = a.end(v.Time)
	}
	if v.Time >= r.last.Time {
		r.last = v
	}
	f, num := model.AsFloat(v.Value)
	if r.summed {
		if num && v.Quality == model.Good {
			a.spread(r, f, v.Time)
		}
		return
	}
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

// spread adds the amount f of the sample at t to the windows of (prev, t],
// in proportion to their share of that time. A share that falls in a window
// already flushed counts in the open one (it is late, not lost).
func (a *aggregator) spread(r *rollup, f float64, t int64) {
	if r.amount == nil {
		r.amount = map[int64]float64{}
	}
	prev := r.prev
	if t > r.prev {
		r.prev = t
	}
	if prev == 0 || t <= prev || t-prev > maxSpread.Milliseconds() {
		r.amount[max(a.end(t), a.cur)] += f
		return
	}
	span := float64(t - prev)
	for from := prev; from < t; {
		end := a.end(from)
		to := min(end, t)
		r.amount[max(end, a.cur)] += f * float64(to-from) / span
		from = to
	}
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
			if r.summed {
				if sum, ok := r.amount[a.cur]; ok {
					delete(r.amount, a.cur)
					out = append(out, model.Value{Device: r.device, Name: r.name + "/sum", Value: sum, Time: a.cur, Quality: model.Good})
				}
				continue
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

// Aggregator is the rollups for other packages (the home box dialect's
// aggregated records): Add every value, Flush at window ends. Not safe
// for concurrent use.
type Aggregator struct{ a *aggregator }

// NewAggregator returns rollups on windows of length window aligned to
// the epoch; meta gives a datapoint's metadata (metric kind, unit).
func NewAggregator(window time.Duration, meta func(device, name string) model.Meta) *Aggregator {
	return &Aggregator{a: newAggregator(window, meta)}
}

// Add takes one value.
func (g *Aggregator) Add(v model.Value) { g.a.add(v) }

// Flush returns the rollups of every window that ended by now (ms): per
// datapoint "<name>/last" (gauge, cumulative, actuator; power also mean,
// min, max, count) or "<name>/sum" (delta, total), timed at the window end.
func (g *Aggregator) Flush(now int64) []model.Value { return g.a.flush(now) }
