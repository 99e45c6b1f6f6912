package bus

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type recWriter struct{ got []any }

func (w *recWriter) Write(_ context.Context, _ string, v any) (any, error) {
	w.got = append(w.got, v)
	return v, nil
}

func f(x float64) *float64 { return &x }

func newTestBus(t *testing.T, w Writer, gapMs int64) *Bus {
	t.Helper()
	b := New()
	pts := []model.Datapoint{
		{Name: "temperature", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "°C"}},
		{Name: "setpoint", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Min: f(15), Max: f(30)}},
	}
	if err := b.AddDevice(model.DeviceState{Device: "room", Driver: "test"}, pts, w, gapMs); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPublishFansOutAndKeepsLast(t *testing.T) {
	b := newTestBus(t, nil, 0)
	s1 := b.Subscribe("a", Options{Size: 4})
	s2 := b.Subscribe("b", Options{Size: 4})
	b.Publish(model.Value{Device: "room", Name: "temperature", Value: 21.0, Time: 1, Quality: model.Good},
		model.Value{Device: "room", Name: "nope", Value: 1.0, Time: 1})
	for _, s := range []*Subscription{s1, s2} {
		v := <-s.Values
		if v.Value != 21.0 {
			t.Fatalf("%s got %v", s.Name, v)
		}
		if len(s.Values) != 0 {
			t.Fatalf("%s: unknown datapoint was delivered", s.Name)
		}
	}
	_, last, has, ok := b.Datapoint("room", "temperature")
	if !ok || !has || last.Value != 21.0 {
		t.Fatalf("last value not kept: %v %v %v", last, has, ok)
	}
	if b.ValuesIn() != 1 {
		t.Fatalf("values in = %d, want 1", b.ValuesIn())
	}
}

func TestSlowSinkDropsAndCounts(t *testing.T) {
	b := newTestBus(t, nil, 0)
	slow := b.Subscribe("slow", Options{Size: 2})
	fast := b.Subscribe("fast", Options{Size: 100})
	for i := 0; i < 10; i++ {
		b.Publish(model.Value{Device: "room", Name: "temperature", Value: float64(i), Time: int64(i)})
	}
	if slow.Dropped() != 8 || slow.Delivered() != 2 {
		t.Fatalf("slow: dropped %d delivered %d", slow.Dropped(), slow.Delivered())
	}
	if fast.Dropped() != 0 || len(fast.Values) != 10 {
		t.Fatalf("fast: dropped %d queued %d", fast.Dropped(), len(fast.Values))
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(b))
	b.Unsubscribe(slow)
	want := "gridbox_sink_values_dropped_total{sink=\"fast\"} 0\ngridbox_sink_values_dropped_total{sink=\"slow\"} 8\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader("# HELP gridbox_sink_values_dropped_total Values (and states) dropped because a sink's queue was full.\n# TYPE gridbox_sink_values_dropped_total counter\n"+want), "gridbox_sink_values_dropped_total"); err != nil {
		t.Fatal(err)
	}
}

func TestWriteValidation(t *testing.T) {
	w := &recWriter{}
	b := newTestBus(t, w, 0)
	ctx := context.Background()
	if v, err := b.Write(ctx, "room", "setpoint", 26.0); err != nil || v != 26.0 {
		t.Fatalf("valid write: %v %v", v, err)
	}
	cases := []struct {
		name, point string
		v           any
		check       func(error) bool
		text        string
	}{
		{"above max", "setpoint", 40.0, func(e error) bool { var r *model.RangeError; return errors.As(e, &r) }, "above max 30"},
		{"below min", "setpoint", 2.0, func(e error) bool { var r *model.RangeError; return errors.As(e, &r) }, "below min 15"},
		{"sensor", "temperature", 20.0, func(e error) bool { return errors.Is(e, model.ErrNotWritable) }, "sensor"},
		{"unknown", "nope", 20.0, func(e error) bool { return errors.Is(e, ErrUnknown) }, "unknown datapoint"},
		{"type", "setpoint", "hot", func(e error) bool { var inv *InvalidError; return errors.As(e, &inv) }, "want a number"},
	}
	for _, c := range cases {
		_, err := b.Write(ctx, "room", c.point, c.v)
		if err == nil || !c.check(err) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.text)
		}
	}
	if len(w.got) != 1 {
		t.Fatalf("writer called %d times, want only for the valid write", len(w.got))
	}
	if ok, failed, rejected := b.WriteStats(); ok != 1 || failed != 0 || rejected != 5 {
		t.Fatalf("stats %d %d %d", ok, failed, rejected)
	}
}

func TestWriteRateLimit(t *testing.T) {
	w := &recWriter{}
	b := newTestBus(t, w, 60_000)
	ctx := context.Background()
	if _, err := b.Write(ctx, "room", "setpoint", 20.0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(ctx, "room", "setpoint", 21.0); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("second write within the gap: %v", err)
	}
	if len(w.got) != 1 {
		t.Fatalf("writer called %d times", len(w.got))
	}
}

func TestStatesAndStale(t *testing.T) {
	b := newTestBus(t, nil, 0)
	s := b.Subscribe("mqtt", Options{States: true})
	b.Publish(model.Value{Device: "room", Name: "temperature", Value: 21.0, Time: 1, Quality: model.Good})
	<-s.Values
	b.SetState(model.DeviceState{Device: "room", Online: false, Error: "connection refused"}, 1, 1)
	st := <-s.States
	if st.Error != "connection refused" || st.Driver != "test" || st.Polls != 1 || st.Errors != 1 {
		t.Fatalf("state %+v", st)
	}
	b.SetState(model.DeviceState{Device: "room", Online: false, Error: "connection refused"}, 1, 1)
	if len(s.States) != 0 {
		t.Fatal("unchanged state was sent again")
	}
	if d, _ := b.Device("room"); d.Polls != 2 {
		t.Fatalf("polls not counted: %+v", d)
	}
	b.MarkStale("room", 5)
	v := <-s.Values
	if v.Quality != model.Stale || v.Value != 21.0 || v.Time != 5 {
		t.Fatalf("stale value %+v", v)
	}
}

// TestStateOnChangeAndRefresh: a poll that only moves last_seen tells
// subscribers nothing; a change of online or error does, and so does an
// unchanged state once the refresh interval has passed.
func TestStateOnChangeAndRefresh(t *testing.T) {
	b := newTestBus(t, nil, 0)
	b.SetStateRefresh(time.Hour)
	s := b.Subscribe("mqtt", Options{States: true})
	b.SetState(model.DeviceState{Device: "room", Online: true, LastSeen: 1}, 1, 0)
	if st := <-s.States; !st.Online || st.LastSeen != 1 {
		t.Fatalf("first state %+v", st)
	}
	for i := int64(2); i < 10; i++ {
		b.SetState(model.DeviceState{Device: "room", Online: true, LastSeen: i}, 1, 0)
	}
	if len(s.States) != 0 {
		t.Fatalf("%d states sent for polls that changed only last_seen", len(s.States))
	}
	b.SetState(model.DeviceState{Device: "room", Online: true, LastSeen: 10, Error: "field x: bad"}, 1, 1)
	if st := <-s.States; st.Error != "field x: bad" || st.Polls != 10 {
		t.Fatalf("error change not sent: %+v", st)
	}
	b.SetStateRefresh(0)
	b.SetState(model.DeviceState{Device: "room", Online: true, LastSeen: 11, Error: "field x: bad"}, 1, 1)
	if st := <-s.States; st.LastSeen != 11 || st.Polls != 11 {
		t.Fatalf("refresh not sent: %+v", st)
	}
}

func TestAddDeviceDuplicates(t *testing.T) {
	b := newTestBus(t, nil, 0)
	if err := b.AddDevice(model.DeviceState{Device: "room"}, nil, nil, 0); err == nil {
		t.Fatal("duplicate device accepted")
	}
	pts := []model.Datapoint{{Name: "a"}, {Name: "a"}}
	if err := b.AddDevice(model.DeviceState{Device: "x"}, pts, nil, 0); err == nil {
		t.Fatal("duplicate datapoint accepted")
	}
}

func BenchmarkPublish(b *testing.B) {
	bus := New()
	pts := make([]model.Datapoint, 100)
	for i := range pts {
		pts[i] = model.Datapoint{Name: "p" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Meta: model.Meta{Kind: model.Sensor, Format: model.GenericNumeric}}
	}
	_ = bus.AddDevice(model.DeviceState{Device: "d"}, pts, nil, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, name := range []string{"store", "mqtt"} {
		s := bus.Subscribe(name, Options{Size: 1 << 16})
		go func() {
			for {
				select {
				case <-s.Values:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	v := model.Value{Device: "d", Name: pts[0].Name, Value: 1.0, Quality: model.Good}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bus.Publish(v)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "values/s")
}
