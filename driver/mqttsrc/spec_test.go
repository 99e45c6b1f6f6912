package mqttsrc

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

func TestMatchAndName(t *testing.T) {
	specs, errs := compile([]Point{
		{Name: "plug", Topic: "shellies/+/relay/0/power"},
		{Topic: "z2m/#"},
		{Name: "temp", Topic: "a/b"},
	}, "", "datapoints")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, c := range []struct {
		spec  int
		topic string
		name  string
		ok    bool
	}{
		{0, "shellies/Shelly-1/relay/0/power", "plug_shelly-1", true},
		{0, "shellies/x/relay/1/power", "", false},
		{0, "shellies/x/relay/0/power/extra", "", false},
		{1, "z2m/Kitchen Sensor/temp", "kitchen_sensor_temp", true},
		{1, "z2m", "", true}, // # matches the parent level too; no name is left
		{2, "a/b", "temp", true},
		{2, "a/b/c", "", false},
	} {
		m, ok := specs[c.spec].match(c.topic)
		if ok != c.ok || (ok && specs[c.spec].name(m) != c.name) {
			t.Errorf("%s on %s: %v %q, want %v %q", specs[c.spec].Topic, c.topic, ok, specs[c.spec].name(m), c.ok, c.name)
		}
	}
}

func TestExtractAndConvert(t *testing.T) {
	s := &spec{}
	got, err := s.extract("dev", []byte(`{"Model": "X", "v": [231, 232], "n": {"ok": true}}`))
	want := map[string]any{"dev__model": "X", "dev__v__0": 231.0, "dev__v__1": 232.0, "dev__n__ok": true}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("flatten = %v %v", got, err)
	}
	s = &spec{path: []string{"voltage", "1"}}
	if got, err := s.extract("v", []byte(`{"voltage": [1, 2, 3]}`)); err != nil || got["v"] != 2.0 {
		t.Errorf("path = %v %v", got, err)
	}
	for payload, kind := range map[string]string{`{"voltage": [1`: "json", `{"voltage": 5}`: "type", `{"voltage": [1]}`: "type"} {
		_, err := s.extract("v", []byte(payload))
		if bp, ok := err.(*badPayload); !ok || bp.kind != kind {
			t.Errorf("%s: %v, want kind %s", payload, err, kind)
		}
	}
	if v, err := convert(model.ContinuousNumeric, " 7.5 ", 2); v != 15.0 || err != nil {
		t.Errorf("numeric string = %v %v", v, err)
	}
	if v, err := convert(model.Bool, "ON", 0); v != true || err != nil {
		t.Errorf("ON = %v %v", v, err)
	}
	if _, err := convert(model.ContinuousNumeric, "warm", 0); err == nil {
		t.Error("warm accepted as a number")
	}
	w := &spec{Point: Point{Scale: 0.001}, path: []string{"E1", "cur"}}
	if b, err := w.encode(8.0); string(b) != `{"E1":{"cur":8000}}` || err != nil {
		t.Errorf("encode = %s %v", b, err)
	}
}

func TestValidate(t *testing.T) {
	c := NewConfig()
	c.Broker, c.QoS = "http://x", 2
	c.Datapoints = []Point{{Topic: "a/b"}, {Name: "w", Topic: "a/+", Meta: model.Meta{Kind: model.Actuator}}, {Name: "x", Topic: "a/b#"}}
	got := config.Errors(c.Validate()).Error()
	for _, want := range []string{`broker: "http://x": scheme "http"`, "qos: 2", "datapoints[0].name: missing", "datapoints[1].write_topic", "datapoints[2].topic"} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q lack %q", got, want)
		}
	}
	if _, err := parseBroker("mqtts://u:p@h"); err != nil {
		t.Error(err)
	}
	if tg, _ := parseBroker("mqtts://u:p@h"); tg.url.String() != "mqtts://h:8883" || tg.user != "u" || tg.pass != "p" || strings.Contains(tg.redacted, ":p@") {
		t.Errorf("target = %+v", tg)
	}
}
