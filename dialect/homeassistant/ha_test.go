package homeassistant_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/dialect/homeassistant"
	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/mqtt"
	"github.com/gridbox/gridbox/sink"
)

func f(v float64) *float64 { return &v }

var points = []model.Datapoint{
	{Device: "meter", Name: "power", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W", Role: "grid_power"}},
	{Device: "meter", Name: "energy", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "Wh"}},
	{Device: "meter", Name: "limit", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "A", Min: f(6), Max: f(32)}},
	{Device: "meter", Name: "relay", Meta: model.Meta{Kind: model.Actuator, Format: model.Bool}},
}

type nopWriter struct{}

func (nopWriter) Write(_ context.Context, _ string, v any) (any, error) { return v, nil }

// rig is a bus with one device, the MQTT sink on broker and the dialect.
type rig struct {
	bus  *bus.Bus
	addr string // host:port of the broker
}

func start(t *testing.T, broker, native, prefix string) *rig {
	t.Helper()
	b := bus.New()
	if err := b.AddDevice(model.DeviceState{Device: "meter", Driver: "modbus", Online: true}, points, nopWriter{}, 0); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	k := mqtt.Kind()
	cfg := k.NewConfig().(*mqtt.Config)
	cfg.Broker, cfg.Listen, cfg.Prefix, cfg.ClientID = broker, "127.0.0.1:0", native, native
	ctx, cancel := context.WithCancel(context.Background())
	s, err := k.New(ctx, cfg, sink.Env{Name: "mqtt", Site: "t", Bus: b, Log: log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	sub := b.Subscribe("mqtt", bus.Options{States: true, Events: true})
	wg.Go(func() { _ = s.Run(ctx, sub) })
	ha := homeassistant.New(b, s.(sink.MQTT), homeassistant.Config{Prefix: prefix}, "t", log, func(string) {})
	hsub := b.Subscribe("ha", bus.Options{States: true, Events: true})
	wg.Go(func() {
		if err := ha.Run(ctx, hsub); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait(); _ = s.Close() })
	addr := s.(sink.Addresser).Addr()
	if u, err := url.Parse(addr); err == nil && u.Host != "" {
		addr = u.Host
	}
	return &rig{bus: b, addr: addr}
}

func configs(s *mqttcli.Sub, prefix string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, m := range s.Msgs() {
		if !strings.HasSuffix(m.Topic, "/config") || !strings.HasPrefix(m.Topic, prefix+"/") {
			continue
		}
		if m.Payload == "" {
			delete(out, m.Topic)
			continue
		}
		var c map[string]any
		if json.Unmarshal([]byte(m.Payload), &c) == nil {
			out[m.Topic] = c
		}
	}
	return out
}

func TestDiscoveryEmbedded(t *testing.T) {
	prefix := fmt.Sprintf("ha%d", time.Now().UnixNano())
	r := start(t, "embedded", "gridbox", prefix)
	testDiscovery(t, r, prefix, "gridbox")
}

func TestDiscoveryMosquitto(t *testing.T) {
	testenv.Service(t, "mosquitto", "127.0.0.1:1883")
	id := time.Now().UnixNano()
	prefix, native := fmt.Sprintf("ha%d", id), fmt.Sprintf("gb%d", id)
	r := start(t, "mqtt://127.0.0.1:1883", native, prefix)
	testDiscovery(t, r, prefix, native)
	// leave nothing retained on the shared broker
	for _, dp := range points {
		_ = mqttcli.Publish(t, r.addr, homeassistant.ConfigTopic(prefix, dp), "", "-r")
	}
}

func testDiscovery(t *testing.T, r *rig, prefix, native string) {
	s := mqttcli.Subscribe(t, r.addr, nil, prefix+"/#")
	testenv.Eventually(t, 20*time.Second, "a retained config per datapoint", func() bool {
		return len(configs(s, prefix)) == len(points)+1 // and the gateway's
	})
	got := configs(s, prefix)
	power := got[prefix+"/sensor/meter/power/config"]
	if power["device_class"] != "power" || power["state_class"] != "measurement" || power["unit_of_measurement"] != "W" ||
		power["state_topic"] != native+"/meter/power" || power["unique_id"] != "gridbox_t_meter_power" {
		t.Errorf("power config: %v", power)
	}
	if e := got[prefix+"/sensor/meter/energy/config"]; e["device_class"] != "energy" || e["state_class"] != "total_increasing" {
		t.Errorf("energy config: %v", e)
	}
	if n := got[prefix+"/number/meter/limit/config"]; n["command_topic"] != native+"/meter/limit/set" || n["min"] != 6.0 || n["max"] != 32.0 {
		t.Errorf("number config: %v", n)
	}
	if g := got[prefix+"/binary_sensor/gridbox_t/gateway/config"]; g["state_topic"] != native+"/$state" {
		t.Errorf("gateway config: %v", g)
	}
	if _, ok := got[prefix+"/switch/meter/relay/config"]; !ok {
		t.Errorf("no switch config: %v", got)
	}
	// A subscriber that comes later gets every config as a retained message.
	late := mqttcli.Subscribe(t, r.addr, nil, prefix+"/#")
	testenv.Eventually(t, 20*time.Second, "every config retained for a later subscriber", func() bool {
		for topic := range got {
			if m, ok := late.Last(topic); !ok || !m.Retained {
				return false
			}
		}
		return true
	})

	// Home Assistant's birth message brings every config again.
	live := mqttcli.Subscribe(t, r.addr, []string{"-R"}, prefix+"/sensor/#")
	testenv.Eventually(t, 20*time.Second, "a republish after homeassistant/status online", func() bool {
		if err := mqttcli.Publish(t, r.addr, prefix+"/status", "online"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		return live.Count(prefix+"/sensor/meter/power/config") > 0
	})
	// A datapoint that goes away is cleared with an empty retained message.
	if err := r.bus.RemoveDatapoints("meter", "energy"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, "the removed datapoint's config cleared", func() bool {
		m, ok := live.Last(prefix + "/sensor/meter/energy/config")
		return ok && m.Payload == ""
	})
	fresh := mqttcli.Subscribe(t, r.addr, nil, prefix+"/#")
	testenv.Eventually(t, 20*time.Second, "a fresh subscriber sees the remaining configs only", func() bool {
		c := configs(fresh, prefix)
		_, gone := c[prefix+"/sensor/meter/energy/config"]
		return len(c) == len(points) && !gone
	})
}
