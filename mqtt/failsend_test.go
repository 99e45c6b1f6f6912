package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
)

// TestSendFailureOnALiveLink: a publish that fails while the transport
// still reports the link up (paho's writer timed out) used to leave the
// publisher buffering for good, as only a reconnect announced it again.
// Now it announces again by itself and the held values go out.
func TestSendFailureOnALiveLink(t *testing.T) {
	b := newBus(t, &device{})
	p, err := New(b, Options{Broker: "mqtt://127.0.0.1:1", Metrics: prometheus.NewRegistry(),
		Log: slog.New(slog.NewTextHandler(tlog{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tr := &flakyTransport{}
	p.tr = tr
	sub := b.Subscribe("mqtt", bus.Options{States: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, sub) }()
	defer func() { cancel(); <-done }()
	eventually(t, "the transport started", func() bool { return tr.hooks() != nil })
	tr.hooks().up()
	temp := func(i int) model.Value {
		return model.Value{Device: "room", Name: "temperature", Value: float64(i), Time: int64(1 + i), Quality: model.Good}
	}
	payload := func(i int) string { return fmt.Sprintf(`{"value":%d,"timestamp":%d,"quality":"good"}`, i, 1+i) }
	b.Publish(temp(0))
	eventually(t, "the first value sent", func() bool { return tr.sent(payload(0)) })
	tr.failNext()
	b.Publish(temp(1)) // fails; the link stays up
	b.Publish(temp(2))
	for i := 1; i <= 2; i++ {
		eventually(t, payload(i)+" sent without a reconnect", func() bool { return tr.sent(payload(i)) })
	}
}

// flakyTransport is always connected; failNext makes the next publish fail.
type flakyTransport struct {
	mu       sync.Mutex
	h        *hooks
	fail     bool
	payloads []string
}

func (f *flakyTransport) start(h hooks) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.h = &h
	return nil
}

func (f *flakyTransport) hooks() *hooks { f.mu.Lock(); defer f.mu.Unlock(); return f.h }
func (f *flakyTransport) failNext()     { f.mu.Lock(); defer f.mu.Unlock(); f.fail = true }

func (f *flakyTransport) publish(_ context.Context, topic string, payload []byte, _ byte, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		f.fail = false
		return errors.New("publish " + topic + ": publish was broken by timeout")
	}
	f.payloads = append(f.payloads, string(payload))
	return nil
}

func (f *flakyTransport) sent(payload string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.payloads, payload)
}
func (f *flakyTransport) subscribe(string) error     { return nil }
func (f *flakyTransport) stop(context.Context) error { return nil }
