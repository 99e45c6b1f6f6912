package homeassistant

import (
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/httpdrv"
	"github.com/gridbox/gridbox/driver/keba"
	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/driver/mqttsrc"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/profile"
)

// The rules of Home Assistant's MQTT discovery (its MQTT, MQTT Sensor,
// Number, Select, Switch and Binary sensor pages, and the Sensor entity's
// device classes): required keys per component and the units each device
// class accepts, with the state classes it allows.
var required = map[string][]string{
	"sensor":        {"state_topic"},
	"binary_sensor": {"state_topic"},
	"number":        {"command_topic"},
	"switch":        {"command_topic"},
	"select":        {"command_topic", "options"},
	"text":          {"command_topic"},
}

var classUnits = map[string][]string{
	"power":          {"mW", "W", "kW", "MW", "GW", "TW"},
	"energy":         {"Wh", "kWh", "MWh", "mWh", "GWh", "TWh", "J", "kJ", "MJ", "GJ"},
	"energy_storage": {"Wh", "kWh", "MWh"},
	"battery":        {"%"},
	"voltage":        {"µV", "mV", "V", "kV", "MV"},
	"current":        {"mA", "A"},
	"frequency":      {"mHz", "Hz", "kHz", "MHz", "GHz"},
	"temperature":    {"°C", "°F", "K"},
	"reactive_power": {"var", "kvar"},
	"apparent_power": {"VA"},
	"power_factor":   {"%", ""},
}

var classStates = map[string][]string{
	"energy":         {"total", "total_increasing"},
	"energy_storage": {"measurement"},
}

// check reports every way a config breaks the discovery rules.
func check(e Entity) []string {
	var bad []string
	c := e.Config
	for _, k := range append(required[e.Component], "unique_id", "device") {
		if _, ok := c[k]; !ok {
			bad = append(bad, "missing "+k)
		}
	}
	if required[e.Component] == nil {
		bad = append(bad, "unknown component "+e.Component)
	}
	parts := strings.Split(e.Topic, "/")
	if len(parts) != 5 || parts[1] != e.Component || parts[4] != "config" {
		bad = append(bad, "topic "+e.Topic+": want <prefix>/<component>/<node_id>/<object_id>/config")
	}
	for _, p := range parts[2:4] {
		if !model.ValidID(p) {
			bad = append(bad, "topic id "+p+" is not [a-zA-Z0-9_-]")
		}
	}
	dev, _ := c["device"].(map[string]any)
	if ids, _ := dev["identifiers"].([]string); len(ids) == 0 || dev["name"] == "" {
		bad = append(bad, "device without identifiers or name")
	}
	dc, _ := c["device_class"].(string)
	unit, _ := c["unit_of_measurement"].(string)
	sc, _ := c["state_class"].(string)
	binaryClasses := []string{"connectivity", "problem", "running", "power", "plug", "battery_charging"}
	if e.Component == "binary_sensor" && dc != "" && !slices.Contains(binaryClasses, dc) {
		bad = append(bad, "binary_sensor device_class "+dc)
	}
	if e.Component != "binary_sensor" && dc != "" && !slices.Contains(classUnits[dc], unit) {
		bad = append(bad, "device_class "+dc+" does not accept unit "+unit)
	}
	if allowed, ok := classStates[dc]; ok && sc != "" && !slices.Contains(allowed, sc) {
		bad = append(bad, "device_class "+dc+" does not accept state_class "+sc)
	}
	if sc != "" && !slices.Contains([]string{"measurement", "total", "total_increasing"}, sc) {
		bad = append(bad, "state_class "+sc)
	}
	if sc != "" && e.Component != "sensor" {
		bad = append(bad, "state_class on a "+e.Component)
	}
	if e.Component == "number" {
		lo, _ := c["min"].(float64)
		hi, _ := c["max"].(float64)
		if step, _ := c["step"].(float64); step < 0.001 || lo > hi {
			bad = append(bad, "number min/max/step")
		}
	}
	if opts, ok := c["options"].([]string); e.Component == "select" && (!ok || len(opts) == 0) {
		bad = append(bad, "select without options")
	}
	if _, err := json.Marshal(c); err != nil {
		bad = append(bad, err.Error())
	}
	return bad
}

// profilePoints returns the datapoints of every built-in profile, as each
// driver declares them.
func profilePoints(t *testing.T) map[string][]model.Datapoint {
	t.Helper()
	lib := profile.Builtin()
	sums, err := lib.Summaries()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]model.Datapoint{}
	for _, s := range sums {
		data, src, err := lib.Load(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		var dps []model.Datapoint
		switch s.Driver {
		case "modbus":
			p, err := modbus.ParseProfile(data, src)
			if err != nil {
				t.Fatal(err)
			}
			dps = append(p.Datapoints(), p.DetectDatapoints()...)
		case "http":
			p, err := httpdrv.ParseProfile(data, src)
			if err != nil {
				t.Fatal(err)
			}
			dps = p.Datapoints()
		case "mqtt":
			p, err := mqttsrc.ParseProfile(data, src)
			if err != nil {
				t.Fatal(err)
			}
			for _, pt := range p.Datapoints {
				dps = append(dps, model.Datapoint{Name: pt.Name, Meta: pt.Meta})
			}
		case "keba":
			cfg := keba.NewConfig()
			cfg.ID, cfg.URL = "wallbox", "udp://127.0.0.1:7090"
			dev, err := keba.New().NewDevice(cfg, driver.Env{Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			dps = dev.Datapoints()
		default:
			t.Fatalf("%s: no datapoints for driver %q", s.Name, s.Driver)
		}
		for i := range dps {
			dps[i].Device = strings.ReplaceAll(s.Name, ".", "-")
			if dps[i].Format == "" {
				dps[i].Format = model.ContinuousNumeric
			}
			if dps[i].Kind == "" {
				dps[i].Kind = model.Sensor
			}
		}
		out[s.Name] = dps
	}
	return out
}

func TestEveryBuiltinProfileValidates(t *testing.T) {
	n := Names{Prefix: "homeassistant", Native: "gridbox", Site: "home", Driver: "modbus"}
	seen := map[string]bool{}
	total := 0
	for name, dps := range profilePoints(t) {
		if len(dps) == 0 {
			t.Errorf("%s: no datapoints", name)
		}
		for _, dp := range dps {
			e := Discovery(n, dp)
			for _, b := range check(e) {
				t.Errorf("%s %s (%s %s %q): %s", name, dp.Name, dp.Kind, dp.Format, dp.Unit, b)
			}
			seen[e.Component] = true
			if dc, _ := e.Config["device_class"].(string); dc != "" {
				seen[dc] = true
			}
			total++
		}
	}
	for _, b := range check(Gateway(n)) {
		t.Errorf("gateway: %s", b)
	}
	// The profiles exercise the classes the issue names; a profile change
	// that loses one makes this test say so.
	for _, want := range []string{"sensor", "number", "power", "energy", "voltage", "current", "frequency", "temperature", "battery"} {
		if !seen[want] {
			t.Errorf("no built-in profile datapoint became %s", want)
		}
	}
	t.Logf("%d datapoints validated", total)
}

// The checker itself rejects what Home Assistant rejects.
func TestCheckRejects(t *testing.T) {
	bad := []Entity{
		{Component: "sensor", Topic: "homeassistant/sensor/a/b/config", Config: map[string]any{"unique_id": "x", "device": map[string]any{"identifiers": []string{"d"}, "name": "d"}}},
		{Component: "sensor", Topic: "homeassistant/sensor/a/b/config", Config: map[string]any{"state_topic": "s", "unique_id": "x", "device": map[string]any{"identifiers": []string{"d"}, "name": "d"}, "device_class": "energy", "unit_of_measurement": "Wh", "state_class": "measurement"}},
		{Component: "sensor", Topic: "homeassistant/sensor/a/b/config", Config: map[string]any{"state_topic": "s", "unique_id": "x", "device": map[string]any{"identifiers": []string{"d"}, "name": "d"}, "device_class": "power", "unit_of_measurement": "Wh"}},
		{Component: "select", Topic: "homeassistant/select/a/b/config", Config: map[string]any{"command_topic": "s", "unique_id": "x", "device": map[string]any{"identifiers": []string{"d"}, "name": "d"}}},
	}
	for i, e := range bad {
		if len(check(e)) == 0 {
			t.Errorf("case %d passed the check", i)
		}
	}
}

func f(v float64) *float64 { return &v }

func TestComponentsAndClasses(t *testing.T) {
	n := Names{Prefix: "ha", Native: "gridbox", Site: "s"}
	cases := []struct {
		dp        model.Datapoint
		comp, dc  string
		sc, extra string
	}{
		{model.Datapoint{Device: "m", Name: "p", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W"}}, "sensor", "power", "measurement", ""},
		{model.Datapoint{Device: "m", Name: "e", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "Wh"}}, "sensor", "energy", "total_increasing", ""},
		{model.Datapoint{Device: "b", Name: "soc", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "%", Role: "battery_soc"}}, "sensor", "battery", "measurement", ""},
		{model.Datapoint{Device: "b", Name: "on", Meta: model.Meta{Kind: model.Sensor, Format: model.Bool}}, "binary_sensor", "", "", ""},
		{model.Datapoint{Device: "b", Name: "relay", Meta: model.Meta{Kind: model.Actuator, Format: model.Bool}}, "switch", "", "", ""},
		{model.Datapoint{Device: "w", Name: "cur", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "A", Min: f(6), Max: f(32)}}, "number", "current", "", "min=6 max=32"},
		{model.Datapoint{Device: "w", Name: "mode", Meta: model.Meta{Kind: model.Actuator, Format: model.DiscreteNumeric, Allowed: []any{0.0, 1.0, 2.0}}}, "select", "", "", "options=0,1,2"},
	}
	for _, c := range cases {
		e := Discovery(n, c.dp)
		if e.Component != c.comp || e.Config["device_class"] != nilIfEmpty(c.dc) || e.Config["state_class"] != nilIfEmpty(c.sc) {
			t.Errorf("%s: got %s %v %v, want %s %s %s", c.dp.Name, e.Component, e.Config["device_class"], e.Config["state_class"], c.comp, c.dc, c.sc)
		}
		if want := "ha/" + c.comp + "/" + c.dp.Device + "/" + c.dp.Name + "/config"; e.Topic != want || ConfigTopic("ha", c.dp) != want {
			t.Errorf("topic %s, want %s", e.Topic, want)
		}
		if c.dp.Kind == model.Actuator && e.Config["command_topic"] != "gridbox/"+c.dp.Device+"/"+c.dp.Name+"/set" {
			t.Errorf("%s: command_topic %v", c.dp.Name, e.Config["command_topic"])
		}
		if e.Config["state_topic"] != "gridbox/"+c.dp.Device+"/"+c.dp.Name {
			t.Errorf("%s: state_topic %v", c.dp.Name, e.Config["state_topic"])
		}
		switch c.extra {
		case "min=6 max=32":
			if e.Config["min"] != 6.0 || e.Config["max"] != 32.0 || e.Config["step"] != 1.0 {
				t.Errorf("number limits %v %v %v", e.Config["min"], e.Config["max"], e.Config["step"])
			}
		case "options=0,1,2":
			if !slices.Equal(e.Config["options"].([]string), []string{"0", "1", "2"}) {
				t.Errorf("options %v", e.Config["options"])
			}
		}
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
