package cfos

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/control/loadmanagement"
	"github.com/gridbox/gridbox/model"
)

// fakeConn records what the dialect publishes (a unit-test stand-in for
// the broker; e2e_test.go has the real one).
type fakeConn struct {
	mu   sync.Mutex
	msgs []pubMsg
}

type pubMsg struct {
	topic   string
	payload string
	retain  bool
}

func (c *fakeConn) Publish(_ context.Context, topic string, payload []byte, _ byte, retain bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, pubMsg{topic, string(payload), retain})
	return nil
}

// take returns and forgets the messages so far.
func (c *fakeConn) take() []pubMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.msgs
	c.msgs = nil
	return out
}

// charger is a test charger: writes are recorded and read back.
type charger struct {
	r  *rig
	id string
}

func (c charger) Write(ctx context.Context, name string, v any) (any, error) {
	w := fmt.Sprintf("%s/%s=%v", c.id, name, v)
	if src := bus.Source(ctx); src != bus.SourceLoadManagement {
		w += "(" + src + ")"
	}
	c.r.writes = append(c.r.writes, w)
	c.r.b.Publish(model.Value{Device: c.id, Name: name, Value: v, Time: model.NowMs(), Quality: model.Good})
	return v, nil
}

// rig is a bus with two chargers (wb1, wb2 = E1, E2), load management on
// meter m3 (made by set/M3) and the dialect on a fake connection; steps run
// synchronously: input → one load management cycle → expected writes and
// messages.
type rig struct {
	t      *testing.T
	b      *bus.Bus
	lm     *loadmanagement.Controller
	d      *Dialect
	conn   *fakeConn
	sub    *bus.Subscription
	writes []string
	counts map[string]int
	now    int64
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, b: bus.New(), conn: &fakeConn{}, counts: map[string]int{}, now: 1_000_000}
	zero, top := 0.0, 32.0
	for _, id := range []string{"wb1", "wb2"} {
		pts := []model.Datapoint{
			{Name: "max_current", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "A", Min: &zero, Max: &top}},
			{Name: "enabled", Meta: model.Meta{Kind: model.Actuator, Format: model.Bool}},
			{Name: "status", Meta: model.Meta{Kind: model.Sensor, Format: model.DiscreteText}},
			{Name: "energy_total", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "Wh"}},
		}
		if err := r.b.AddDevice(model.DeviceState{Device: id, Driver: "test", Online: true}, pts, charger{r: r, id: id}, 0); err != nil {
			t.Fatal(err)
		}
		r.b.Publish(model.Value{Device: id, Name: "status", Value: "charging", Time: model.NowMs(), Quality: model.Good},
			model.Value{Device: id, Name: "enabled", Value: true, Time: model.NowMs(), Quality: model.Good})
	}
	cfg := loadmanagement.NewConfig()
	cfg.SiteMaxCurrent, cfg.Meter, cfg.RaiseDelay = 32, "m3", 0
	cfg.Chargers = []loadmanagement.Charger{{Device: "wb1", MaxCurrent: 16}, {Device: "wb2", MaxCurrent: 16}}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	r.lm = loadmanagement.New(r.b, cfg, nil)
	if err := r.lm.Register(); err != nil {
		t.Fatal(err)
	}
	r.lm.Resolve()
	d, err := New(r.b, nil, Config{Root: "cfos_mqtt", Wallboxes: map[string]string{"E1": "wb1", "E2": "wb2"},
		Vars: map[string]string{"mode": "loadmanagement/mode"}}, slog.New(slog.DiscardHandler), func(w string) { r.counts[w]++ })
	if err != nil {
		t.Fatal(err)
	}
	d.conn, r.d = r.conn, d
	r.sub = r.b.Subscribe("cfos", bus.Options{Size: 1 << 12, Events: true})
	d.initSessions(context.Background())
	return r
}

// pub delivers a message as the broker would, and executes it.
func (r *rig) pub(topic, payload string) {
	m := inMsg{topic: topic, payload: []byte(payload)}
	if strings.HasPrefix(topic, r.d.root+"/set/") {
		r.d.meterInput(strings.TrimPrefix(topic, r.d.root+"/set/"), m.payload)
	} else {
		r.d.request(bus.WithSource(context.Background(), Source), m)
	}
	r.drain()
}

// drain hands the bus values and events to the dialect, as Run does.
func (r *rig) drain() {
	for {
		select {
		case v := <-r.sub.Values:
			r.d.value(context.Background(), v)
		case e := <-r.sub.Events:
			r.d.event(context.Background(), e)
		default:
			return
		}
	}
}

// cycle runs one load management cycle and one state publish.
func (r *rig) cycle() {
	r.now += 1000
	r.lm.Cycle(context.Background(), r.now)
	r.drain()
	r.d.publishState(context.Background())
	r.drain()
}

// on is the payloads published on topic (below the root) in msgs.
func on(msgs []pubMsg, topic string) []string {
	var out []string
	for _, m := range msgs {
		if m.topic == "cfos_mqtt/"+topic {
			out = append(out, m.payload)
		}
	}
	return out
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
