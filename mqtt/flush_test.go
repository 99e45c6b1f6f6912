package mqtt

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
)

// TestFlushTakesArrivingValues: while the buffer of an outage is flushed,
// new values keep coming from the bus. They used to wait in the bus queue
// until the flush ended and overflowed it (bench/soak: 124 000 values,
// counted as dropped, after a 25 s outage); now they join the buffer and go
// out in order. The transport lets one message through per step of the test,
// so the flush is as slow as the test wants. (The real broker's side of a
// flush is TestReconnect's and bench/soak's.)
func TestFlushTakesArrivingValues(t *testing.T) {
	b := newBus(t, &device{})
	p, err := New(b, Options{Broker: "mqtt://127.0.0.1:1", Buffer: 10000, Metrics: prometheus.NewRegistry(),
		Log: slog.New(slog.NewTextHandler(tlog{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tr := &steppedTransport{step: make(chan struct{})}
	p.tr = tr
	const queue, outage, during = 16, 200, 400 // bus queue, values buffered offline, values arriving while flushing
	sub := b.Subscribe("mqtt", bus.Options{Size: queue, States: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, sub) }()
	defer func() { cancel(); close(tr.step); <-done }()
	eventually(t, "the transport started", func() bool { return tr.started() })
	temp := func(i int) model.Value {
		return model.Value{Device: "room", Name: "temperature", Value: float64(i), Time: int64(1 + i), Quality: model.Good}
	}
	for i := range outage { // offline: into the buffer, a queue's worth at a time
		b.Publish(temp(i))
		if i%(queue/2) == queue/2-1 {
			eventually(t, "the values taken from the bus", func() bool { return len(sub.Values) == 0 })
		}
	}
	tr.hooks().up()
	for i := outage; i < outage+during; i++ {
		b.Publish(temp(i))
		tr.step <- struct{}{} // one more message out
	}
	for !tr.has(outage + during) {
		select {
		case tr.step <- struct{}{}:
		case <-time.After(5 * time.Second): // nothing more to send
			t.Fatalf("%d of %d values sent; %d dropped from the bus queue during the flush", len(tr.values()), outage+during, sub.Dropped())
		}
	}
	if d := sub.Dropped(); d != 0 {
		t.Errorf("%d values dropped from the bus queue during the flush", d)
	}
	got := slices.Compact(tr.values()) // a last value may be republished once after the flush
	for i, ts := range got[:outage+during] {
		if ts != int64(1+i) {
			t.Fatalf("value %d sent with timestamp %d, want %d (in order, none missing)", i, ts, 1+i)
		}
	}
}

// steppedTransport sends one message per receive from step and records
// the value timestamps it sent, in order.
type steppedTransport struct {
	step chan struct{}
	mu   sync.Mutex
	h    *hooks
	ts   []int64
}

func (s *steppedTransport) start(h hooks) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.h = &h
	return nil
}

func (s *steppedTransport) started() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.h != nil }
func (s *steppedTransport) hooks() hooks  { s.mu.Lock(); defer s.mu.Unlock(); return *s.h }

func (s *steppedTransport) publish(ctx context.Context, topic string, payload []byte, _ byte, _ bool) error {
	select {
	case <-s.step:
	case <-ctx.Done():
		return ctx.Err()
	}
	if topic == "gridbox/room/temperature" {
		var v struct{ Timestamp int64 }
		if json.Unmarshal(payload, &v) == nil {
			s.mu.Lock()
			s.ts = append(s.ts, v.Timestamp)
			s.mu.Unlock()
		}
	}
	return nil
}

func (s *steppedTransport) has(n int) bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.ts) >= n }
func (s *steppedTransport) values() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.ts...)
}
func (s *steppedTransport) subscribe(string) error     { return nil }
func (s *steppedTransport) stop(context.Context) error { return nil }
