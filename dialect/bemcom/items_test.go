package bemcom_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
)

// TestSetpointAndScheduleREST: BEMCom's setpoint and schedule POSTs, with
// JSON-encoded string values, reach gridbox's controller (control:) for
// an actuator it controls and BEMCom controllers on MQTT (plain JSON,
// retained); items the actuator cannot take are refused with every problem.
func TestSetpointAndScheduleREST(t *testing.T) {
	r := start(t, "{}", "control:\n  - {actuator: room/setpoint, sensor: room/temperature}")
	var pts []restPoint
	r.do(t, "GET", "/bemcom/datapoint/?short_name=room/setpoint", readToken, nil, &pts)
	if len(pts) != 1 || pts[0].Type != "actuator" || pts[0].MinValue == nil || *pts[0].MinValue != 15 || *pts[0].MaxValue != 30 || pts[0].Unit != "°C" {
		t.Fatalf("room/setpoint as a BEMCom datapoint: %+v", pts)
	}
	id := pts[0].ID
	topic := fmt.Sprintf("room/messages/%d/setpoint", id)
	sub := mqttcli.Subscribe(t, r.mqtt, nil, topic)

	body := map[string]any{"setpoint": []map[string]any{{"from_timestamp": nil, "to_timestamp": nil, "preferred_value": "24.0", "min_value": nil, "max_value": nil}}}
	var out map[string]any
	if code := r.do(t, "POST", fmt.Sprintf("/bemcom/datapoint/%d/setpoint/", id), writeToken, body, &out); code != http.StatusCreated {
		t.Fatalf("POST setpoint: %d", code)
	}
	if items, _ := out["setpoint"].([]any); len(items) != 1 || items[0].(map[string]any)["preferred_value"] != "24.0" {
		t.Errorf("POST setpoint answered %v", out)
	}
	m := waitMsg(t, sub, topic, nil)
	var sp struct {
		Setpoint []map[string]any `json:"setpoint"`
	}
	decode(t, m, &sp)
	if len(sp.Setpoint) != 1 || sp.Setpoint[0]["preferred_value"] != 24.0 {
		t.Errorf("setpoint message %s: want preferred_value 24 as plain JSON", m.Payload)
	}
	testenv.Eventually(t, 30*time.Second, "gridbox's controller holding the preferred value 24", func() bool { return r.lastSetpoint(t) == "24.0" })
	var native json.RawMessage
	r.do(t, "GET", "/api/v1/datapoints/room/setpoint/setpoint", readToken, nil, &native)
	if !strings.Contains(string(native), `"preferred_value":24`) {
		t.Errorf("gridbox's setpoint %s: want preferred_value 24", native)
	}

	bad := []struct {
		what string
		body map[string]any
	}{
		{"setpoint", map[string]any{"setpoint": []map[string]any{{"from_timestamp": nil, "to_timestamp": nil, "preferred_value": "40.0"}}}},
		{"setpoint", map[string]any{"setpoint": []map[string]any{{"preferred_value": 22.0}}}},
		{"schedule", map[string]any{"schedule": []map[string]any{{"from_timestamp": 2000, "to_timestamp": 1000, "value": `"abc"`}}}},
	}
	for _, b := range bad {
		req := fmt.Sprintf("/bemcom/datapoint/%d/%s/", id, b.what)
		if code := r.do(t, "POST", req, writeToken, b.body, nil); code != http.StatusBadRequest {
			t.Errorf("POST %s %v: %d, want 400", b.what, b.body, code)
		}
	}
	sched := map[string]any{"schedule": []map[string]any{{"from_timestamp": nil, "to_timestamp": nil, "value": "20.5"}}}
	if code := r.do(t, "POST", fmt.Sprintf("/bemcom/datapoint/%d/schedule/", id), writeToken, sched, nil); code != http.StatusCreated {
		t.Fatalf("POST schedule: %d", code)
	}
	var got []map[string]any
	r.do(t, "GET", fmt.Sprintf("/bemcom/datapoint/%d/schedule/", id), readToken, nil, &got)
	if len(got) != 1 {
		t.Fatalf("GET schedule %v: want the one posted schedule", got)
	}
	if items, _ := got[0]["schedule"].([]any); len(items) != 1 || items[0].(map[string]any)["value"] != "20.5" {
		t.Errorf("GET schedule %v: want the posted schedule with its JSON-string value", got)
	}
	r.do(t, "GET", fmt.Sprintf("/bemcom/datapoint/%d/setpoint/?timestamp__gte=%d", id, nowMs()+60000), readToken, nil, &got)
	if len(got) != 0 {
		t.Errorf("GET setpoint from a minute ahead: %v, want none", got)
	}
}
