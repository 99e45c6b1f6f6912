package bus

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/gridbox/gridbox/model"
)

// EventType says what changed in the catalog of devices and datapoints.
type EventType int

// Catalog changes, delivered to subscriptions made with Options.Events.
const (
	DeviceAdded      EventType = iota + 1 // Event.Device is the new device's state
	DatapointAdded                        // Event.Point is the new datapoint
	DatapointRemoved                      // Event.Point is the removed datapoint (its history stays in the stores)
	DeviceRemoved                         // Event.Device is the removed device; its datapoints' removals came first
	GatewayStatus                         // Event.Key's field of the gateway's own state changed to Event.Status (nil: removed)
	Announcement                          // publish Event.Payload on the gateway-level topic Event.Topic (MQTT sinks)
)

func (t EventType) String() string {
	return [...]string{"", "device added", "datapoint added", "datapoint removed", "device removed", "gateway status", "announcement"}[t]
}

// Event is one change of the catalog while the gateway runs (an OCPP
// charge point connects, discovery finds a meter, a wildcard matches a new
// topic, and the reverse).
type Event struct {
	Type   EventType
	Device model.DeviceState
	Point  model.Datapoint
	Key    string // GatewayStatus: the field
	Status any    // GatewayStatus: its value, nil when removed
	Topic  string // Announcement: below the MQTT prefix, like $aggregated/pv/ac_power
	// Payload and Retain are the Announcement's message.
	Payload []byte
	Retain  bool
}

// AddDevice registers a device with its datapoints and optional writer, at
// start or while running; subscribers with Events learn of it.
// minWriteGapMs is the minimum time between two writes to one datapoint.
func (b *Bus) AddDevice(state model.DeviceState, points []model.Datapoint, w Writer, minWriteGapMs int64) error {
	b.mu.Lock()
	if _, dup := b.devices[state.Device]; dup {
		b.mu.Unlock()
		return fmt.Errorf("device %q registered twice", state.Device)
	}
	pts, err := b.checkNew(state.Device, points)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	b.order++
	b.devices[state.Device] = &deviceEntry{state: state, writer: w, limit: newRateLimit(minWriteGapMs), order: b.order}
	events := []Event{{Type: DeviceAdded, Device: state}}
	for _, p := range pts {
		b.points[p.Key()] = &entry{meta: p}
		events = append(events, Event{Type: DatapointAdded, Point: p})
	}
	subs := b.subs
	b.mu.Unlock()
	tell(subs, events)
	return nil
}

// AddDatapoints adds datapoints to a registered device while it runs.
func (b *Bus) AddDatapoints(device string, points ...model.Datapoint) error {
	b.mu.Lock()
	if _, ok := b.devices[device]; !ok {
		b.mu.Unlock()
		return fmt.Errorf("add datapoints: unknown device %q", device)
	}
	pts, err := b.checkNew(device, points)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	events := make([]Event, len(pts))
	for i, p := range pts {
		b.points[p.Key()] = &entry{meta: p}
		events[i] = Event{Type: DatapointAdded, Point: p}
	}
	subs := b.subs
	b.mu.Unlock()
	tell(subs, events)
	return nil
}

// checkNew validates datapoints to be added to device (metadata, names not
// taken) and returns them with their Device set. Called with b.mu held.
func (b *Bus) checkNew(device string, points []model.Datapoint) ([]model.Datapoint, error) {
	out := make([]model.Datapoint, len(points))
	seen := map[string]bool{}
	for i, p := range points {
		p.Device = device
		k := p.Key()
		if _, dup := b.points[k]; dup || seen[k] {
			return nil, fmt.Errorf("datapoint %q registered twice", k)
		}
		if err := p.CheckMeta(); err != nil {
			return nil, fmt.Errorf("datapoint %s: %w", k, err)
		}
		seen[k] = true
		out[i] = p
	}
	return out, nil
}

// RemoveDatapoints removes datapoints of a device while it runs; values
// that still come for them are counted as unknown. Names not registered are
// an error (nothing is removed then).
func (b *Bus) RemoveDatapoints(device string, names ...string) error {
	b.mu.Lock()
	for _, n := range names {
		if _, ok := b.points[model.Key(device, n)]; !ok {
			b.mu.Unlock()
			return fmt.Errorf("remove datapoint: %s: %w", model.Key(device, n), ErrUnknown)
		}
	}
	events := make([]Event, len(names))
	for i, n := range names {
		k := model.Key(device, n)
		events[i] = Event{Type: DatapointRemoved, Point: b.points[k].meta}
		delete(b.points, k)
	}
	subs := b.subs
	b.mu.Unlock()
	tell(subs, events)
	return nil
}

// RemoveDevice removes a device and all its datapoints.
func (b *Bus) RemoveDevice(device string) error {
	b.mu.Lock()
	d, ok := b.devices[device]
	if !ok {
		b.mu.Unlock()
		return fmt.Errorf("remove device: unknown device %q", device)
	}
	var events []Event
	for k, e := range b.points {
		if e.meta.Device == device {
			events = append(events, Event{Type: DatapointRemoved, Point: e.meta})
			delete(b.points, k)
		}
	}
	delete(b.devices, device)
	events = append(events, Event{Type: DeviceRemoved, Device: d.state})
	subs := b.subs
	b.mu.Unlock()
	tell(subs, events)
	return nil
}

func tell(subs []*Subscription, events []Event) {
	for _, s := range subs {
		for _, e := range events {
			s.offerEvent(e)
		}
	}
}

// unknownLog counts values and states for devices or datapoints the bus
// does not know, and logs the first of each key (up to maxLogged keys, so
// a flood of new names cannot grow memory). Used with Bus.mu held.
type unknownLog struct {
	log            *slog.Logger
	seen           map[string]bool
	values, states atomic.Uint64
}

const maxLogged = 1000

func (u *unknownLog) value(key string) {
	u.values.Add(1)
	u.once("value for an unknown datapoint dropped (logged once per datapoint; counted in gridbox_bus_unknown_total)", "datapoint", key)
}

func (u *unknownLog) state(device string) {
	u.states.Add(1)
	u.once("state of an unknown device dropped (logged once per device; counted in gridbox_bus_unknown_total)", "device", device)
}

func (u *unknownLog) once(msg, attr, key string) {
	if u.seen[attr+" "+key] || len(u.seen) >= maxLogged {
		return
	}
	u.seen[attr+" "+key] = true
	u.log.Warn(msg, attr, model.Short(key))
}

// Unknown returns how many values and device states arrived for datapoints
// or devices that are not registered.
func (b *Bus) Unknown() (values, states uint64) {
	return b.unknown.values.Load(), b.unknown.states.Load()
}
