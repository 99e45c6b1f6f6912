package homematic

import (
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

func TestValidate(t *testing.T) {
	c := NewConfig()
	c.URL, c.Callback, c.Listen, c.MaxBody = "ftp://ccu", "", "nope", 10
	c.ReinitAfter = 0
	c.Names = map[string]string{"A:1/X": "Bad Name"}
	got := config.Errors(c.Validate()).Error()
	for _, want := range []string{"url:", "callback: missing", "listen:", "reinit_after: 0s: must be positive", "max_body: 10", `names.A:1/X: "Bad Name"`} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q lack %q", got, want)
		}
	}
	c = NewConfig()
	c.ID, c.URL, c.Callback = "ccu", "http://ccu:2010", "http://10.0.0.5:9292"
	if errs := c.Validate(); len(errs) > 0 || c.listenAddr() != ":9292" || c.interfaceID() != "gridbox-ccu" {
		t.Errorf("valid config: %v, listen %q, id %q", errs, c.listenAddr(), c.interfaceID())
	}
}

func TestDescribeAndConvert(t *testing.T) {
	p, err := describe("NEQ0123456:2", "THERMALCONTROL_TRANSMIT", "SET_TEMPERATURE", paramName(nil, "NEQ0123456:2", "SET_TEMPERATURE"),
		map[string]any{"TYPE": "FLOAT", "MIN": 4.5, "MAX": 30.5, "UNIT": "°C", "OPERATIONS": 7})
	if err != nil || p.dp.Name != "neq0123456_2_set_temperature" || p.dp.Kind != model.Actuator || *p.dp.Min != 4.5 || *p.dp.Max != 30.5 {
		t.Fatalf("describe: %+v %v", p, err)
	}
	if v, err := p.toCCU(22.0); v != 22.0 || err != nil {
		t.Errorf("toCCU(22) = %#v %v, want float64", v, err)
	}
	if _, err := p.fromCCU("warm"); err == nil {
		t.Error("a string for a FLOAT was accepted")
	}
	e, err := describe("A:1", "", "STATE", "a_1_state", map[string]any{"TYPE": "ENUM", "MIN": 0, "MAX": 2, "OPERATIONS": 5})
	if err != nil || e.dp.Format != model.DiscreteNumeric || len(e.dp.Allowed) != 3 || e.dp.Kind != model.Sensor {
		t.Fatalf("enum: %+v %v", e, err)
	}
	if v, err := e.toCCU(2.0); v != 2 || err != nil {
		t.Errorf("toCCU(2) = %#v %v, want int", v, err)
	}
	if _, err := e.toCCU(1.5); err == nil {
		t.Error("1.5 accepted for an ENUM")
	}
	if _, err := describe("A:1", "", "X", "x", map[string]any{"TYPE": 3}); err == nil {
		t.Error("TYPE 3 accepted")
	}
}
