package victron_test

import (
	"context"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	dialect "github.com/gridbox/gridbox/dialect/victron"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/victron"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/mqtt"
	"github.com/gridbox/gridbox/sink"
)

type setter struct {
	mu  sync.Mutex
	got []any
}

func (s *setter) Write(_ context.Context, _ string, v any) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, v)
	return v, nil
}

func (s *setter) last() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got) == 0 {
		return nil
	}
	return s.got[len(s.got)-1]
}

// TestRoundTripWithDialect: one gridbox speaks Victron (dialect/victron on
// its embedded broker), another reads it with this driver — in addition to
// the scripted GX of TestGX, which is the independent peer. Roles survive
// the trip, and a write goes back through the dialect's write path.
func TestRoundTripWithDialect(t *testing.T) {
	a := bus.New()
	w := &setter{}
	dps := []model.Datapoint{
		{Device: "meter", Name: "power", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W", Role: "grid_power"}},
		{Device: "meter", Name: "limit", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "W", Min: f(-2000), Max: f(2000)}},
	}
	if err := a.AddDevice(model.DeviceState{Device: "meter", Online: true}, dps, w, 0); err != nil {
		t.Fatal(err)
	}
	a.Publish(model.Value{Device: "meter", Name: "power", Value: 812.0, Quality: model.Good, Time: model.NowMs()})
	log := slog.New(slog.DiscardHandler)
	k := mqtt.Kind()
	mc := k.NewConfig().(*mqtt.Config)
	mc.Listen = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	s, err := k.New(ctx, mc, sink.Env{Name: "mqtt", Site: "a", Bus: a, Log: log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait(); _ = s.Close() })
	msub := a.Subscribe("mqtt", bus.Options{States: true, Events: true})
	wg.Go(func() { _ = s.Run(ctx, msub) })
	v, err := dialect.New(a, s.(sink.MQTT), dialect.Config{PortalID: "rt1", Mapping: map[string]string{"meter/limit": "hub4/0/AcPowerSetpoint"}}, log, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	vsub := a.Subscribe("victron", bus.Options{States: true, Events: true})
	wg.Go(func() { _ = v.Run(ctx, vsub) })
	addr := s.(sink.Addresser).Addr()
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}

	b := bus.New()
	c := victron.NewConfig()
	c.ID, c.Driver, c.Broker, c.KeepAlive = "gx", "victron", "mqtt://"+addr, 1e9
	c.Actuators = []victron.Actuator{{Path: "hub4/0/AcPowerSetpoint", Name: "limit", Meta: model.Meta{Unit: "W", Min: f(-2000), Max: f(2000)}}}
	dev, err := victron.NewDevice(c, driver.Env{Log: log, Catalog: b})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddDevice(model.DeviceState{Device: "gx", Driver: "victron"}, dev.Datapoints(), dev.(bus.Writer), 0); err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { _ = dev.Run(ctx, b) })

	testenv.Eventually(t, 30*time.Second, "gridbox A's meter on gridbox B", func() bool {
		dp, v, ok := last(b, "gx-grid-30", "ac_power")
		return ok && v.Value == 812.0 && dp.Role == "grid_power"
	})
	testenv.Eventually(t, 30*time.Second, "a change flowing while alive", func() bool {
		a.Publish(model.Value{Device: "meter", Name: "power", Value: 900.0, Quality: model.Good, Time: model.NowMs()})
		_, v, ok := last(b, "gx-grid-30", "ac_power")
		return ok && v.Value == 900.0
	})
	if _, err := b.Write(bus.WithSource(context.Background(), "test"), "gx", "limit", -1500.0); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "the write applied on gridbox A", func() bool { return w.last() == -1500.0 })
}
