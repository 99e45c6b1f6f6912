package homebox

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

func TestMappingErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`{"ingredients": {"a": {"topic_in": "x/#/y"}}}`, "ingredients.a.topic_in"},
		{`{"ingredients": {"a": {"topic_in": "x", "json_template": "{{ value.total }}"}}}`, "ingredients.a.json_template"},
		{`{"ingredients": {"a": {"topic_in": "x"}}, "recipes": {"r": {"recipe": "{{b}}", "entity": "e", "channel": "c"}}}`, `recipes.r.recipe: "{{b}}" names no ingredient "b"`},
		{`{"ingredients": {"a": {"topic_in": "x"}}, "recipes": {"r": {"recipe": "{{a}}", "topic_out": "out/x"}}}`, "recipes.r.entity: missing"},
		{`{"ingredients": {"a": {"topic_in": "x"}}, "recipes": {"r": {"recipe": "{{a}}", "entity": "e", "channel": "c", "metricKind": "rate"}}}`, "recipes.r.metricKind"},
		{`{"ingredients": {"a": {"topic_in": "x"}}, "recipes": {"r": {"recipe": "{{a}} +", "entity": "e", "channel": "c"}}}`, "recipes.r.recipe"},
		{`{"ingredients": {"a": {"topic_in": "x"}}, "recipes": {"r": {"recipe": "{{a}}", "entity": "e", "channel": "c"}, "s": {"recipe": "{{a}}", "topic_out": "data/devices/e/c"}}}`, "also recipe r"},
		{`{"ingredients": [1]}`, "cannot unmarshal"},
	} {
		p := filepath.Join(t.TempDir(), "m.json")
		if err := os.WriteFile(p, []byte(c.src), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadMapping(p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.src, err, c.want)
		}
	}
	if _, err := LoadMapping(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Error("a missing file loads")
	}
}

func TestExtract(t *testing.T) {
	tmpl := func(s string) *ingredient {
		p, err := jsonPath(s)
		if err != nil {
			t.Fatal(err)
		}
		return &ingredient{path: p}
	}
	for _, c := range []struct {
		in      *ingredient
		payload string
		want    float64
		bad     bool
	}{
		{&ingredient{}, " 12.5\n", 12.5, false},
		{&ingredient{}, "true", 1, false},
		{&ingredient{}, "on", 0, true},
		{tmpl("{{ value_json.emeter[1].total }}"), `{"emeter": [{}, {"total": 7}]}`, 7, false},
		{tmpl(`{{value_json["a"]['b']}}`), `{"a": {"b": "3.5"}}`, 3.5, false},
		{tmpl("{{ value_json.a }}"), `{"b": 1}`, 0, true},
		{tmpl("{{ value_json.a }}"), `[1]`, 0, true},
	} {
		got, err := c.in.extract([]byte(c.payload))
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("%q: %v, %v", c.payload, got, err)
		}
	}
	if !match("shellies/+/emeter/1/total", "shellies/a/emeter/1/total") || match("a/+", "a/b/c") || !match("a/#", "a/b/c") || match("a/b", "a/b/c") {
		t.Error("topic filter matching")
	}
}

// TestDeltaRecords: delta streams are summed per window, cumulative ones
// carried forward onto the window's end (one record per stream and window).
func TestDeltaRecords(t *testing.T) {
	b := bus.New()
	dps := []model.Datapoint{
		{Device: "hp", Name: "energy", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "Wh", MetricKind: model.MetricDelta}},
		{Device: "hp", Name: "total", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "Wh", MetricKind: model.MetricCumulative}},
	}
	if err := b.AddDevice(model.DeviceState{Device: "hp", Online: true}, dps, nil, 0); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Interval: config.Duration(5 * time.Minute), Streams: map[string]Stream{
		"hp/energy": {Entity: "heat_pump", Channel: "energy", Metric: "HpElectricityConsumption"},
		"hp/total":  {Entity: "heat_pump", Channel: "total", Metric: "HpElectricityConsumption"},
	}}
	d, err := New(b, nil, cfg, "site", slog.New(slog.DiscardHandler), func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	c := &recConn{}
	d.conn = c
	d.rebuild()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	min := int64(60_000)
	for _, v := range []struct {
		name string
		at   int64
		x    float64
	}{{"energy", t0 + min, 10}, {"energy", t0 + 2*min, 10}, {"energy", t0 + 4*min, 20}, {"total", t0 + 4*min, 500}} {
		d.value(context.Background(), model.Value{Device: "hp", Name: v.name, Value: v.x, Quality: model.Good, Time: v.at})
	}
	d.flush(context.Background(), time.UnixMilli(t0+5*min), nil)
	recs := c.records(t)
	if len(recs) != 2 {
		t.Fatalf("records %+v", recs)
	}
	for _, r := range recs {
		if r.Timestamp != (t0+5*min)/1000 || r.Interval != 300 || r.DeviceID != "site" {
			t.Errorf("record %+v", r)
		}
		switch r.SensorID {
		case "heat_pump/energy":
			// the first sample has no previous one: all of it here; the others spread over (prev, t]
			if r.Value != 40 || r.MetricKind != "delta" {
				t.Errorf("delta record %+v", r)
			}
		case "heat_pump/total":
			if r.Value != 500 || r.MetricKind != "cumulative" {
				t.Errorf("cumulative record %+v", r)
			}
		}
	}
}
