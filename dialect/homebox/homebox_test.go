package homebox_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/dialect/homebox"
	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/mqtt"
	"github.com/gridbox/gridbox/sink"
)

// mapping is a glue mapping file as the home box has it: the reference's
// example, a JSON-template ingredient pair summed, and an ignored recipe.
const mapping = `{
 "ingredients": {
  "total_consumption": {"friendly_name": "Total energy consumed", "topic_in": "shellies/+/emeter/1/total", "json_template": null},
  "pv_a": {"friendly_name": "PV A", "topic_in": "pv/a/state", "json_template": "{{ value_json.ac.power }}"},
  "pv_b": {"friendly_name": "PV B", "topic_in": "pv/b/state", "json_template": "{{ value_json['power'] }}"}
 },
 "recipes": {
  "total_consumed": {"friendly_name": "Total consumption", "topic_out": "data/devices/utility_meter/total_energy_consumed",
   "recipe": "{{total_consumption}}", "entity": "utility_meter", "channel": "total_energy_consumed",
   "unit": "Wh", "metricKind": "cumulative", "metric": "GridElectricityImport", "ignore_after": 300, "ignore": false},
  "pv_power": {"friendly_name": "PV power", "topic_out": "data/devices/pv/power", "recipe": "{{pv_a}} + {{ pv_b }}",
   "entity": "pv", "channel": "power", "unit": "W", "metricKind": "gauge", "metric": "PvElectricityPower"},
  "old": {"topic_out": "data/devices/old/x", "recipe": "{{nothing}}", "ignore": true}
 }
}`

type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(w string) { c.mu.Lock(); c.n[w]++; c.mu.Unlock() }
func (c *counts) get(w string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[w]
}

type upload struct {
	mu   sync.Mutex
	recs [][]homebox.Record
}

func (u *upload) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var recs []homebox.Record
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &recs) != nil {
		http.Error(w, "bad upload", http.StatusBadRequest)
		return
	}
	u.mu.Lock()
	u.recs = append(u.recs, recs)
	u.mu.Unlock()
}

func (u *upload) all() []homebox.Record {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []homebox.Record
	for _, r := range u.recs {
		out = append(out, r...)
	}
	return out
}

func message(s *mqttcli.Sub, topic string, into any) bool {
	m, ok := s.Last(topic)
	return ok && json.Unmarshal([]byte(m.Payload), into) == nil
}

// TestHomeBox: the glue mapping file works unchanged — ingredients from
// MQTT, recipes as datapoints and as data/devices messages with metric and
// metricKind; a gridbox meter with a role is published too; every window
// gives one cloud record per stream, on MQTT and uploaded.
func TestHomeBox(t *testing.T) {
	addr := mqttcli.StartBroker(t, "")
	file := filepath.Join(t.TempDir(), "mapping.json")
	if err := os.WriteFile(file, []byte(mapping), 0o600); err != nil {
		t.Fatal(err)
	}
	up := &upload{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	b := bus.New()
	meter := []model.Datapoint{{Device: "meter", Name: "power", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W", Role: "grid_power"}}}
	if err := b.AddDevice(model.DeviceState{Device: "meter", Online: true}, meter, nil, 0); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	k := mqtt.Kind()
	mc := k.NewConfig().(*mqtt.Config)
	mc.Broker, mc.ClientID = "mqtt://"+addr, "gb-hb"
	ctx, cancel := context.WithCancel(context.Background())
	s, err := k.New(ctx, mc, sink.Env{Name: "mqtt", Site: "t", Bus: b, Log: log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	msub := b.Subscribe("mqtt", bus.Options{States: true, Events: true})
	wg.Go(func() { _ = s.Run(ctx, msub) })
	c := &counts{n: map[string]int{}}
	h, err := homebox.New(b, s.(sink.MQTT), homebox.Config{Mapping: file, Interval: config.Duration(time.Second), UploadURL: srv.URL, DeviceID: "box-1"}, "t", log, c.add)
	if err != nil {
		t.Fatal(err)
	}
	hsub := b.Subscribe("homebox", bus.Options{States: true, Events: true})
	wg.Go(func() {
		if err := h.Run(ctx, hsub); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait(); _ = s.Close() })

	sub := mqttcli.Subscribe(t, addr, nil, "data/#", "aggregated_data/#")
	testenv.Eventually(t, 20*time.Second, "the recipes' devices", func() bool {
		_, _, _, ok := b.Datapoint("utility_meter", "total_energy_consumed")
		return ok
	})
	if _, _, _, ok := b.Datapoint("old", "x"); ok {
		t.Error("an ignored recipe became a datapoint")
	}
	var d homebox.Data
	testenv.Eventually(t, 20*time.Second, "the recipe's output", func() bool {
		_ = mqttcli.Publish(t, addr, "shellies/shelly-em-1/emeter/1/total", "1234.5")
		return message(sub, "data/devices/utility_meter/total_energy_consumed", &d)
	})
	want := homebox.Data{Entity: "utility_meter", Channel: "total_energy_consumed", FriendlyName: "Total consumption",
		Value: 1234.5, Unit: "Wh", Metric: "GridElectricityImport", MetricKind: "cumulative"}
	if ts := d.Timestamp; ts < float64(time.Now().Unix()-60) || ts > float64(time.Now().Unix()+1) {
		t.Errorf("timestamp %v: want Unix seconds", ts)
	}
	d.Timestamp = 0
	if d != want {
		t.Errorf("data message %+v, want %+v", d, want)
	}
	dp, v, _, _ := b.Datapoint("utility_meter", "total_energy_consumed")
	if v.Value != 1234.5 || dp.MetricKind != "cumulative" || dp.Unit != "Wh" {
		t.Errorf("recipe datapoint %+v = %+v", dp, v)
	}

	testenv.Eventually(t, 20*time.Second, "the summed JSON ingredients", func() bool {
		_ = mqttcli.Publish(t, addr, "pv/a/state", `{"ac": {"power": 100}}`)
		_ = mqttcli.Publish(t, addr, "pv/b/state", `{"power": 50.5}`)
		return message(sub, "data/devices/pv/power", &d) && d.Value == 150.5
	})
	if d.Metric != "PvElectricityPower" || d.MetricKind != "gauge" || d.Unit != "W" {
		t.Errorf("pv message %+v", d)
	}

	_ = mqttcli.Publish(t, addr, "pv/b/state", `{"power": "n/a"}`)
	_ = mqttcli.Publish(t, addr, "shellies/x/emeter/1/total", `oops`)
	testenv.Eventually(t, 20*time.Second, "bad ingredients refused", func() bool { return c.get("refused") >= 2 })

	testenv.Eventually(t, 20*time.Second, "the meter by its role", func() bool {
		b.Publish(model.Value{Device: "meter", Name: "power", Value: -300.0, Quality: model.Good, Time: model.NowMs()})
		return message(sub, "data/devices/utility_meter/active_power", &d)
	})
	if d.Value != -300 || d.Metric != "GridElectricityPower" || d.MetricKind != "gauge" {
		t.Errorf("meter message %+v", d)
	}

	var r homebox.Record
	testenv.Eventually(t, 20*time.Second, "an aggregated record on MQTT", func() bool {
		return message(sub, "aggregated_data/devices/utility_meter/total_energy_consumed", &r)
	})
	if r.DeviceID != "box-1" || r.SensorID != "utility_meter/total_energy_consumed" || r.SensorName != "Total consumption" ||
		r.Metric != "GridElectricityImport" || r.MetricKind != "cumulative" || r.Unit != "Wh" || r.Value != 1234.5 || r.Interval != 1 ||
		r.Timestamp < time.Now().Unix()-60 {
		t.Errorf("record %+v", r)
	}
	testenv.Eventually(t, 20*time.Second, "records uploaded", func() bool {
		seen := map[string]bool{}
		for _, r := range up.all() {
			seen[r.SensorID] = true
		}
		return seen["utility_meter/total_energy_consumed"] && seen["pv/power"] && seen["utility_meter/active_power"]
	})
	// one record per stream and window
	per := map[[2]any]int{}
	for _, r := range up.all() {
		per[[2]any{r.SensorID, r.Timestamp}]++
	}
	for k, n := range per {
		if n != 1 {
			t.Errorf("%v: %d records in one window", k, n)
		}
	}
}
