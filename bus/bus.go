// Package bus is the in-process fan-out of values from drivers to sinks, the
// catalog of datapoints with their last values, and the write path back to
// the drivers. A slow sink never blocks a driver: every subscription has a
// bounded queue and what does not fit is dropped and counted.
package bus

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridbox/gridbox/model"
)

// Writer applies a validated value to a device's datapoint and returns the
// value the device holds afterwards (read back where the protocol allows).
type Writer interface {
	Write(ctx context.Context, name string, value any) (any, error)
}

// Bus connects drivers, sinks and writers. The zero value is not usable; call New.
type Bus struct {
	mu      sync.RWMutex
	points  map[string]*entry // by "<device>/<name>"
	devices map[string]*deviceEntry
	subs    []*Subscription
	retired map[string][2]uint64 // out/dropped of removed subscriptions, by name
	in      atomic.Uint64
	writes  writeStats
	refresh time.Duration  // see SetStateRefresh
	order   int            // registration counter: devices list in the order they came
	unknown unknownLog     // values and states for unregistered devices or datapoints
	audit   auditor        // where writes are recorded (SetAuditLog)
	status  map[string]any // fields of the gateway's own state (SetGatewayStatus)
	safeMu  sync.Mutex
	safes   map[string]*safeState // protect and watchdog state by datapoint key (protect.go)
	dogWake chan struct{}         // a watchdog has a new value (watchdog.go)
}

type entry struct {
	meta model.Datapoint
	last model.Value
	has  bool
}

type deviceEntry struct {
	state  model.DeviceState
	writer Writer
	limit  *rateLimit
	order  int
	told   time.Time // when subscribers were last told the state
}

// DefaultStateRefresh is how often an unchanged device state is sent to
// subscribers again (so last_seen and the poll counters stay fresh without a
// message on every poll).
const DefaultStateRefresh = time.Minute

// New returns an empty bus.
func New() *Bus {
	return &Bus{points: map[string]*entry{}, devices: map[string]*deviceEntry{}, retired: map[string][2]uint64{},
		safes: map[string]*safeState{}, dogWake: make(chan struct{}, 1),
		refresh: DefaultStateRefresh, unknown: unknownLog{log: slog.New(slog.DiscardHandler), seen: map[string]bool{}}}
}

// SetLogger sets where the bus logs (values for unknown datapoints); call it
// before the devices run. Without it the bus logs nothing.
func (b *Bus) SetLogger(l *slog.Logger) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.unknown.log = l
}

// SetStateRefresh sets how often an unchanged device state is sent again;
// call it before the devices run.
func (b *Bus) SetStateRefresh(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refresh = d
}

// Datapoint returns the metadata and last value of one datapoint.
func (b *Bus) Datapoint(device, name string) (model.Datapoint, model.Value, bool, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	e, ok := b.points[model.Key(device, name)]
	if !ok {
		return model.Datapoint{}, model.Value{}, false, false
	}
	return e.meta, e.last, e.has, true
}

// Point is a datapoint with its last value, as listed by Datapoints.
type Point struct {
	model.Datapoint
	Last *model.Value
}

// Datapoints lists all datapoints sorted by device order, then name.
func (b *Bus) Datapoints() []Point {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]Point, 0, len(b.points))
	for _, e := range b.points {
		p := Point{Datapoint: e.meta}
		if e.has {
			v := e.last
			p.Last = &v
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		oi, oj := b.devices[out[i].Device].order, b.devices[out[j].Device].order
		if oi != oj {
			return oi < oj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Devices lists the device states in registration order.
func (b *Bus) Devices() []model.DeviceState {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ds := make([]*deviceEntry, 0, len(b.devices))
	for _, d := range b.devices {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].order < ds[j].order })
	out := make([]model.DeviceState, len(ds))
	for i, d := range ds {
		out[i] = d.state
	}
	return out
}

// Device returns one device's state.
func (b *Bus) Device(id string) (model.DeviceState, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	d, ok := b.devices[id]
	if !ok {
		return model.DeviceState{}, false
	}
	return d.state, true
}

// Restore sets last values (e.g. from the store at start) without publishing them.
func (b *Bus) Restore(vals []model.Value) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range vals {
		if e, ok := b.points[v.Key()]; ok && (!e.has || v.Time >= e.last.Time) {
			e.last, e.has = v, true
		}
	}
}

// Publish records values as last values and fans them out to every
// subscription without blocking. Values of unknown datapoints are dropped,
// counted and logged once per datapoint.
func (b *Bus) Publish(vals ...model.Value) {
	b.mu.Lock()
	known := vals
	for i, v := range vals {
		e, ok := b.points[v.Key()]
		if ok {
			e.last, e.has = v, true
			if len(known) < len(vals) {
				known = append(known, v)
			}
		} else {
			if len(known) == len(vals) {
				known = append(make([]model.Value, 0, len(vals)), vals[:i]...)
			}
			b.unknown.value(v.Key())
		}
	}
	subs := b.subs
	b.mu.Unlock()
	vals = known
	b.in.Add(uint64(len(vals)))
	for _, s := range subs {
		for _, v := range vals {
			s.offer(v)
		}
	}
}

// SetState updates a device's state and tells subscribers that want states
// when it changed (online, error) or the refresh interval has passed since
// they were last told. Poll and error counters are kept by the bus: polls and
// errors add to them.
func (b *Bus) SetState(st model.DeviceState, polls, errs uint64) {
	b.mu.Lock()
	d, ok := b.devices[st.Device]
	if !ok {
		b.unknown.state(st.Device)
		b.mu.Unlock()
		return
	}
	st.Driver = d.state.Driver
	st.Polls = d.state.Polls + polls
	st.Errors = d.state.Errors + errs
	if st.LastSeen == 0 {
		st.LastSeen = d.state.LastSeen
	}
	now := time.Now()
	tell := st.Online != d.state.Online || st.Error != d.state.Error || d.told.IsZero() || now.Sub(d.told) >= b.refresh
	d.state = st
	if tell {
		d.told = now
	}
	subs := b.subs
	b.mu.Unlock()
	if !tell {
		return
	}
	for _, s := range subs {
		s.offerState(st)
	}
}

// MarkStale republishes every last value of a device with quality stale.
func (b *Bus) MarkStale(device string, at int64) {
	b.mu.RLock()
	var vals []model.Value
	for _, e := range b.points {
		if e.meta.Device == device && e.has && e.last.Quality != model.Stale {
			v := e.last
			v.Quality, v.Time = model.Stale, at
			vals = append(vals, v)
		}
	}
	b.mu.RUnlock()
	if len(vals) > 0 {
		b.Publish(vals...)
	}
}

// ValuesIn returns how many values were published onto the bus.
func (b *Bus) ValuesIn() uint64 { return b.in.Load() }
