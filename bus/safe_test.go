package bus

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

// memDevice holds one value per datapoint, can be read and forgets on demand.
type memDevice struct {
	mu     sync.Mutex
	vals   map[string]any
	writes []any
	noRead bool
}

func (m *memDevice) Write(_ context.Context, name string, v any) (any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.vals[name] = v
	m.writes = append(m.writes, v)
	return v, nil
}

func (m *memDevice) Read(_ context.Context, name string) (any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.noRead {
		return nil, errors.New("timeout")
	}
	return m.vals[name], nil
}

func (m *memDevice) set(name string, v any) { m.mu.Lock(); m.vals[name] = v; m.mu.Unlock() }
func (m *memDevice) get(name string) any    { m.mu.Lock(); defer m.mu.Unlock(); return m.vals[name] }
func (m *memDevice) count() int             { m.mu.Lock(); defer m.mu.Unlock(); return len(m.writes) }

func limitBus(t *testing.T, dev Writer, meta model.Meta) *Bus {
	t.Helper()
	b := New()
	meta.Kind, meta.Format = model.Actuator, model.ContinuousNumeric
	if err := b.AddDevice(model.DeviceState{Device: "inv"}, []model.Datapoint{{Name: "limit", Meta: meta}}, dev, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProtect: a protected upper limit is never raised above the value the
// installer left on the device; gridbox may move below it and back up to it;
// a device that cannot be read refuses (fail safe); a change on the device
// by the installer is the new reference.
func TestProtect(t *testing.T) {
	dev := &memDevice{vals: map[string]any{"limit": 5000.0}}
	b := limitBus(t, dev, model.Meta{Max: f(10000), Protect: model.ProtectUpper})
	a := &memAudit{}
	b.SetAuditLog(a, nil)
	ctx := WithSource(context.Background(), SourceREST)
	if _, err := b.Write(ctx, "inv", "limit", 6000.0); !errors.Is(err, ErrProtected) || !strings.Contains(err.Error(), "6000 is above the installer's value 5000") {
		t.Fatalf("loosening write: %v", err)
	}
	for _, v := range []float64{3000, 5000, 4000} {
		if _, err := b.Write(ctx, "inv", "limit", v); err != nil {
			t.Fatalf("write %v: %v", v, err)
		}
	}
	dev.set("limit", 2000.0) // the installer tightens it on the device
	if _, err := b.Write(ctx, "inv", "limit", 3000.0); !errors.Is(err, ErrProtected) {
		t.Fatalf("above the new installer value: %v", err)
	}
	dev.mu.Lock()
	dev.noRead = true
	dev.mu.Unlock()
	if _, err := b.Write(ctx, "inv", "limit", 1000.0); !errors.Is(err, ErrProtected) || !strings.Contains(err.Error(), "reading the current value failed") {
		t.Fatalf("unreadable device: %v", err)
	}
	if got := dev.get("limit"); got != 2000.0 {
		t.Fatalf("device holds %v", got)
	}
	refused := 0
	for _, r := range a.recs {
		if r.Result == model.AuditRefused && strings.HasPrefix(r.Error, "protected") {
			refused++
		}
	}
	if refused != 3 {
		t.Fatalf("%d protect refusals in the audit log, want 3: %+v", refused, a.recs)
	}

	low := limitBus(t, &memDevice{vals: map[string]any{"limit": 20.0}}, model.Meta{Protect: model.ProtectLower})
	if _, err := low.Write(ctx, "inv", "limit", 10.0); !errors.Is(err, ErrProtected) || !strings.Contains(err.Error(), "below") {
		t.Fatalf("lower limit loosened: %v", err)
	}
	noRead := limitBus(t, &recWriter{}, model.Meta{Protect: model.ProtectUpper})
	if _, err := noRead.Write(ctx, "inv", "limit", 1.0); !errors.Is(err, ErrProtected) {
		t.Fatalf("writer without Read: %v", err)
	}
}

// runDogs runs the bus's watchdogs until the test ends.
func runDogs(t *testing.T, b *Bus) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = b.RunWatchdogs(ctx, nil) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestWatchdogResends: the last written value is re-sent although the bus
// holds it already (the device forgot it), and a new write from the source
// is the value kept from then on.
func TestWatchdogResends(t *testing.T) {
	dev := &memDevice{vals: map[string]any{}}
	b := limitBus(t, dev, model.Meta{Watchdog: &model.Watchdog{Every: model.Duration(50 * time.Millisecond)}})
	a := &memAudit{}
	b.SetAuditLog(a, nil)
	runDogs(t, b)
	src := WithSource(context.Background(), SourceMQTT)
	if _, err := b.Write(src, "inv", "limit", 3000.0); err != nil {
		t.Fatal(err)
	}
	b.Publish(model.Value{Device: "inv", Name: "limit", Value: 3000.0, Time: 1, Quality: model.Good})
	dev.set("limit", nil) // the device forgets
	waitUntil(t, "re-sent value", func() bool { return dev.get("limit") == 3000.0 })
	if _, err := b.Write(src, "inv", "limit", 2500.0); err != nil {
		t.Fatal(err)
	}
	dev.set("limit", nil)
	waitUntil(t, "new value re-sent", func() bool { return dev.get("limit") == 2500.0 })
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.recs {
		if r.Source == SourceWatchdog && r.Result == model.AuditApplied {
			return
		}
	}
	t.Fatalf("no watchdog write in the audit log: %+v", a.recs)
}

// TestWatchdogFallback: the fallback is written when the source goes
// silent and re-sent from then on; a source that writes again is kept.
func TestWatchdogFallback(t *testing.T) {
	dev := &memDevice{vals: map[string]any{}}
	wd := &model.Watchdog{Every: model.Duration(50 * time.Millisecond), Fallback: 0, SourceTimeout: model.Duration(200 * time.Millisecond)}
	b := limitBus(t, dev, model.Meta{Watchdog: wd})
	runDogs(t, b)
	src := WithSource(context.Background(), SourceMQTT)
	if _, err := b.Write(src, "inv", "limit", 3000.0); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "fallback", func() bool { return dev.get("limit") == 0.0 })
	n := dev.count()
	waitUntil(t, "fallback re-sent", func() bool { return dev.count() > n+2 })
	dev.mu.Lock()
	for _, v := range dev.writes[n:] {
		if v != 0.0 {
			t.Errorf("after the fallback the watchdog wrote %v", v)
		}
	}
	dev.mu.Unlock()
	if _, err := b.Write(src, "inv", "limit", 2500.0); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "fallback again", func() bool { return dev.get("limit") == 0.0 })
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestWatchdogSourceNameGivesNoExemption: a write that only names itself
// "watchdog" is rate limited like any other.
func TestWatchdogSourceNameGivesNoExemption(t *testing.T) {
	b := newTestBus(t, &recWriter{}, 60_000)
	ctx := WithSource(context.Background(), SourceWatchdog)
	if _, err := b.Write(ctx, "room", "setpoint", 20.0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(ctx, "room", "setpoint", 21.0); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("second write: %v", err)
	}
}
