package bus

import (
	"sync/atomic"

	"github.com/gridbox/gridbox/model"
)

// Subscription is one sink's bounded queue of values (and device states,
// when asked for). Values that do not fit are dropped and counted.
type Subscription struct {
	Name    string
	Values  <-chan model.Value
	States  <-chan model.DeviceState // nil unless subscribed with states
	Events  <-chan Event             // nil unless subscribed with events
	values  chan model.Value
	states  chan model.DeviceState
	events  chan Event
	out     atomic.Uint64
	dropped atomic.Uint64
}

// Options configure a subscription.
type Options struct {
	Size   int  // value queue length; 0 means 4096
	States bool // also deliver device state changes
	Events bool // also deliver catalog changes (devices and datapoints added or removed)
}

// eventQueue is the length of a subscription's event queue: catalog changes
// are rare, and one beyond it is dropped and counted like a value.
const eventQueue = 4096

// Subscribe adds a sink. Call Unsubscribe when the sink stops.
func (b *Bus) Subscribe(name string, o Options) *Subscription {
	if o.Size <= 0 {
		o.Size = 4096
	}
	s := &Subscription{Name: name, values: make(chan model.Value, o.Size)}
	s.Values = s.values
	if o.States {
		s.states = make(chan model.DeviceState, 256)
		s.States = s.states
	}
	if o.Events {
		s.events = make(chan Event, eventQueue)
		s.Events = s.events
	}
	b.mu.Lock()
	b.subs = append(append([]*Subscription(nil), b.subs...), s)
	b.mu.Unlock()
	return s
}

// Unsubscribe removes a sink; its channels are not closed (the sink owns its loop).
func (b *Bus) Unsubscribe(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.retired[s.Name]
	b.retired[s.Name] = [2]uint64{t[0] + s.Delivered(), t[1] + s.Dropped()}
	subs := make([]*Subscription, 0, len(b.subs))
	for _, x := range b.subs {
		if x != s {
			subs = append(subs, x)
		}
	}
	b.subs = subs
}

// Subscriptions returns the current subscriptions (for metrics).
func (b *Bus) Subscriptions() []*Subscription {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.subs
}

func (s *Subscription) offer(v model.Value) {
	select {
	case s.values <- v:
		s.out.Add(1)
	default:
		s.dropped.Add(1)
	}
}

func (s *Subscription) offerState(st model.DeviceState) {
	if s.states == nil {
		return
	}
	select {
	case s.states <- st:
	default:
		s.dropped.Add(1)
	}
}

func (s *Subscription) offerEvent(e Event) {
	if s.events == nil {
		return
	}
	select {
	case s.events <- e:
	default:
		s.dropped.Add(1)
	}
}

// Delivered counts values queued to this sink.
func (s *Subscription) Delivered() uint64 { return s.out.Load() }

// Dropped counts values and states that did not fit the queue.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// sinkTotals sums delivered and dropped counts by sink name, including
// subscriptions that have gone, so counters never go down.
func (b *Bus) sinkTotals() map[string][2]uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make(map[string][2]uint64, len(b.retired)+len(b.subs))
	for k, v := range b.retired {
		out[k] = v
	}
	for _, s := range b.subs {
		t := out[s.Name]
		out[s.Name] = [2]uint64{t[0] + s.Delivered(), t[1] + s.Dropped()}
	}
	return out
}
