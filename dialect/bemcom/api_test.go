package bemcom_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
)

// restPoint is BEMCom's datapoint object with every key it has.
type restPoint struct {
	ID             int            `json:"id"`
	Connector      map[string]any `json:"connector"`
	KeyInConnector string         `json:"key_in_connector"`
	Type           string         `json:"type"`
	DataFormat     string         `json:"data_format"`
	ShortName      string         `json:"short_name"`
	Description    string         `json:"description"`
	MinValue       *float64       `json:"min_value"`
	MaxValue       *float64       `json:"max_value"`
	AllowedValues  []any          `json:"allowed_values"`
	Unit           string         `json:"unit"`
}

var datapointKeys = []string{"allowed_values", "connector", "data_format", "description", "id", "key_in_connector",
	"max_value", "min_value", "short_name", "type", "unit"}

// TestConnectorAgainstGridboxAPI: an outside BEMCom connector, scripted with
// mosquitto_pub/mosquitto_sub in BEMCom's exact message sequence, plugs
// into gridbox acting as the API service: available_datapoints → retained
// datapoint_map → sensor values reach gridbox (REST last_value, history)
// → a REST value write arrives as an actuator value; bad payloads are
// counted by connector.
func TestConnectorAgainstGridboxAPI(t *testing.T) {
	r := start(t, "{heartbeat: 1s}")
	const c = "demo-connector"
	sub := mqttcli.Subscribe(t, r.mqtt, nil, c+"/#")

	// 1. The connector announces its datapoints (retained), with its
	// heartbeat and a log record.
	pub(t, r.mqtt, c+"/available_datapoints",
		`{"sensor": {"read_input_registers__1__1": "22.5", "Body__Data__Site__P_PV": 1200.0}, "actuator": {"write_register__1__1": "22"}}`, "-r")
	now := nowMs()
	pub(t, r.mqtt, c+"/heartbeat", fmt.Sprintf(`{"this_heartbeats_timestamp": %d, "next_heartbeats_timestamp": %d}`, now, now+30000))
	pub(t, r.mqtt, c+"/logs", fmt.Sprintf(`{"timestamp": %d, "msg": "connector started", "emitter": "main", "level": 20}`, now), "-r")

	// 2. gridbox answers with the retained datapoint map.
	waitMsg(t, sub, c+"/datapoint_map", nil)
	late := mqttcli.Subscribe(t, r.mqtt, nil, c+"/datapoint_map") // a connector (re)starting later gets it retained
	mm := waitMsg(t, late, c+"/datapoint_map", nil)
	if !mm.Retained {
		t.Error("datapoint_map is not retained")
	}
	var dm struct {
		Sensor   map[string]string `json:"sensor"`
		Actuator map[string]string `json:"actuator"`
	}
	decode(t, mm, &dm)
	tempTopic, pvTopic := dm.Sensor["read_input_registers__1__1"], dm.Sensor["Body__Data__Site__P_PV"]
	var actTopic string
	for topic, key := range dm.Actuator {
		if key == "write_register__1__1" {
			actTopic = topic
		}
	}
	for _, tp := range []string{tempTopic, pvTopic, actTopic} {
		if !strings.HasPrefix(tp, c+"/messages/") || !strings.HasSuffix(tp, "/value") {
			t.Fatalf("datapoint map %+v: topic %q is not %s/messages/N/value", dm, tp, c)
		}
	}
	if len(dm.Sensor) != 2 || len(dm.Actuator) != 1 {
		t.Fatalf("datapoint map %+v: want 2 sensors and 1 actuator", dm)
	}

	// 3. The REST datapoint list has them with BEMCom's keys and stable ids.
	var list []map[string]any
	if code := r.do(t, "GET", "/bemcom/datapoint/?connector__name="+c, readToken, nil, &list); code != 200 || len(list) != 3 {
		t.Fatalf("datapoint list: %d, %d datapoints %v", code, len(list), list)
	}
	for _, dp := range list {
		keys := make([]string, 0, len(dp))
		for k := range dp {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !reflect.DeepEqual(keys, datapointKeys) {
			t.Errorf("datapoint object keys %v, want %v", keys, datapointKeys)
		}
	}
	var pts []restPoint
	r.do(t, "GET", "/bemcom/datapoint/?connector__name="+c+"&type=sensor", readToken, nil, &pts)
	ids := map[string]int{}
	for _, p := range pts {
		ids[p.KeyInConnector] = p.ID
		if p.Connector["name"] != c || p.Type != "sensor" || p.DataFormat != "generic_numeric" {
			t.Errorf("imported sensor %+v", p)
		}
	}
	tempID := ids["read_input_registers__1__1"]
	if tempTopic != c+"/messages/"+strconv.Itoa(tempID)+"/value" {
		t.Errorf("sensor topic %s does not carry the REST id %d", tempTopic, tempID)
	}

	// 4. Values: plain JSON on MQTT, JSON-encoded strings on REST.
	t0 := nowMs() - 2000
	pub(t, r.mqtt, tempTopic, fmt.Sprintf(`{"value": 22.5, "timestamp": %d}`, t0), "-r")
	pub(t, r.mqtt, tempTopic, fmt.Sprintf(`{"value": 23, "timestamp": %d}`, t0+1000), "-r")
	pub(t, r.mqtt, pvTopic, fmt.Sprintf(`{"value": "1250.5", "timestamp": %d}`, t0+1000), "-r")
	want := map[string]any{"value": "23.0", "timestamp": float64(t0 + 1000)}
	testenv.Eventually(t, 30*time.Second, "the last value as a JSON-encoded string", func() bool {
		var lv struct {
			Msgs map[string]map[string]any `json:"msgs_by_datapoint_id"`
		}
		r.do(t, "GET", "/bemcom/datapoint/last_value/?connector__name="+c, readToken, nil, &lv)
		return reflect.DeepEqual(lv.Msgs[strconv.Itoa(tempID)], want) &&
			lv.Msgs[strconv.Itoa(ids["Body__Data__Site__P_PV"])]["value"] == "1250.5"
	})
	var hist []map[string]any
	testenv.Eventually(t, 30*time.Second, "both values in the history", func() bool {
		r.do(t, "GET", fmt.Sprintf("/bemcom/datapoint/%d/value/?timestamp__gte=%d&timestamp__lte=%d", tempID, t0, t0+1000), readToken, nil, &hist)
		return len(hist) == 2
	})
	if hist[0]["value"] != "22.5" || hist[1]["value"] != "23.0" || hist[0]["timestamp"] != float64(t0) {
		t.Errorf("history %v", hist)
	}
	r.do(t, "GET", fmt.Sprintf("/bemcom/datapoint/%d/value/?timestamp__gte=%d&interval=%s", tempID, t0, url.QueryEscape("1 hours")), readToken, nil, &hist)
	if len(hist) == 0 || len(hist) > 2 {
		t.Errorf("resampled history %v: want one or two hourly buckets", hist)
	} else if v, _ := strconv.ParseFloat(hist[len(hist)-1]["value"].(string), 64); v < 22.5 || v > 23 {
		t.Errorf("resampled history %v: want the mean of 22.5 and 23 in a bucket", hist)
	}

	// 5. A REST write goes to the connector as an actuator value; a read
	// token may not write; values outside the format are refused.
	actID := strings.TrimSuffix(strings.TrimPrefix(actTopic, c+"/messages/"), "/value")
	if code := r.do(t, "POST", "/bemcom/datapoint/"+actID+"/value/", readToken, map[string]any{"value": "21.5"}, nil); code != http.StatusForbidden {
		t.Errorf("POST with a read token: %d, want 403", code)
	}
	if code := r.do(t, "GET", "/bemcom/datapoint/", "", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d, want 401", code)
	}
	var posted map[string]any
	if code := r.do(t, "POST", "/bemcom/datapoint/"+actID+"/value/", writeToken, map[string]any{"value": "21.5"}, &posted); code != http.StatusCreated || posted["value"] != "21.5" {
		t.Fatalf("POST value: %d %v", code, posted)
	}
	av := waitMsg(t, sub, actTopic, nil)
	var vm map[string]any
	decode(t, av, &vm)
	if vm["value"] != 21.5 || av.Retained {
		t.Errorf("actuator message %+v, want value 21.5 (plain JSON) not retained", av)
	}
	if code := r.do(t, "POST", "/bemcom/datapoint/"+strconv.Itoa(tempID)+"/value/", writeToken, map[string]any{"value": "1"}, nil); code != http.StatusBadRequest {
		t.Errorf("POST to a sensor: %d, want 400", code)
	}
	if code := r.do(t, "POST", "/bemcom/datapoint/"+actID+"/value/", writeToken, map[string]any{"value": "not json"}, nil); code != http.StatusBadRequest {
		t.Errorf("POST of a value that is not JSON-encoded: %d, want 400", code)
	}

	// 6. A malformed message is counted by connector.
	series := `gridbox_bemcom_bad_payloads_total{connector="demo-connector",sink="dialects"}`
	pub(t, r.mqtt, tempTopic, `{"value": 24.0, "timestamp": `)
	testenv.Eventually(t, 30*time.Second, "the bad payload counted", func() bool { return testenv.Metric(t, r.http+"/metrics", series) >= 1 })

	// 7. A new key is announced: it gets a datapoint and a topic in the map.
	pub(t, r.mqtt, c+"/available_datapoints",
		`{"sensor": {"read_input_registers__1__1": "22.5", "Body__Data__Site__P_PV": 1200.0, "read_coils__1__7": true}, "actuator": {"write_register__1__1": "22"}}`, "-r")
	waitMsg(t, sub, c+"/datapoint_map", func(m mqttcli.Msg) bool { return strings.Contains(m.Payload, `"read_coils__1__7":"`+c+`/messages/`) })
	var coil []restPoint
	r.do(t, "GET", "/bemcom/datapoint/?key_in_connector=read_coils__1__7", readToken, nil, &coil)
	if len(coil) != 1 || coil[0].DataFormat != "bool" || coil[0].ID <= ids["Body__Data__Site__P_PV"] {
		t.Errorf("the new key as a datapoint: %+v", coil)
	}

	// 8. Without heartbeats (1 s here) the connector's device goes offline.
	testenv.Eventually(t, 30*time.Second, "the connector's device offline after missed heartbeats", func() bool {
		var devs []map[string]any
		r.do(t, "GET", "/api/v1/devices", readToken, nil, &devs)
		for _, d := range devs {
			if d["id"] == c {
				return d["online"] == false
			}
		}
		return false
	})
}

// TestControllerRole: gridbox as BEMCom's controller follows
// controller/controlled_datapoints, setpoint and schedule messages and the
// sensor, and sends the actuator the decided value — and ends a schedule
// item at its to_timestamp.
func TestControllerRole(t *testing.T) {
	r := start(t, "{roles: [controller]}")
	const c = "ext"
	sub := mqttcli.Subscribe(t, r.mqtt, nil, c+"/messages/2/value")
	pub(t, r.mqtt, "controller/controlled_datapoints", `[{"sensor": {"value": "ext/messages/1/value"},
		"actuator": {"value": "ext/messages/2/value", "setpoint": "ext/messages/2/setpoint", "schedule": "ext/messages/2/schedule"}}]`, "-r")
	now := nowMs()
	pub(t, r.mqtt, "ext/messages/1/value", fmt.Sprintf(`{"value": 21.0, "timestamp": %d}`, now), "-r")
	pub(t, r.mqtt, "ext/messages/2/setpoint", fmt.Sprintf(`{"setpoint": [{"from_timestamp": null, "to_timestamp": null, "preferred_value": 22.0, "min_value": 19.0, "max_value": 24.0}], "timestamp": %d}`, now), "-r")
	end := nowMs() + 4000
	pub(t, r.mqtt, "ext/messages/2/schedule", fmt.Sprintf(`{"schedule": [{"from_timestamp": null, "to_timestamp": %d, "value": 20.0}], "timestamp": %d}`, end, now), "-r")
	values := func() []any {
		var out []any
		for _, m := range sub.Msgs() {
			var v map[string]any
			decode(t, m, &v)
			out = append(out, v["value"])
		}
		return out
	}
	testenv.Eventually(t, 30*time.Second, "the schedule value 20 (sensor 21 within 19…24)", func() bool {
		v := values()
		return len(v) > 0 && v[len(v)-1] == 20.0
	})
	testenv.Eventually(t, 30*time.Second, "the preferred value 22 after the schedule item's end", func() bool {
		v := values()
		return len(v) > 0 && v[len(v)-1] == 22.0
	})
	if nowMs() < end {
		t.Fatalf("the schedule item ended before its to_timestamp")
	}
	// The sensor leaves the range: the preferred value holds; sent only on change.
	pub(t, r.mqtt, "ext/messages/1/value", fmt.Sprintf(`{"value": 26.0, "timestamp": %d}`, nowMs()), "-r")
	pub(t, r.mqtt, "ext/messages/2/schedule", fmt.Sprintf(`{"schedule": [{"from_timestamp": null, "to_timestamp": null, "value": 20.0}], "timestamp": %d}`, nowMs()), "-r")
	pub(t, r.mqtt, "ext/messages/1/value", fmt.Sprintf(`{"value": 23.0, "timestamp": %d}`, nowMs()), "-r")
	testenv.Eventually(t, 30*time.Second, "the schedule value again once the sensor is back in range", func() bool {
		v := values()
		return len(v) > 0 && v[len(v)-1] == 20.0
	})
	v := values()
	for i := 1; i < len(v); i++ {
		if v[i] == v[i-1] {
			t.Errorf("actuator values %v: a value was sent twice in a row", v)
		}
	}
}
