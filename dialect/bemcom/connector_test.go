package bemcom_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
)

// exchange is a recorded API-side exchange: step → (flags, topic, payload).
type exchange map[string][3]string

func loadExchange(t *testing.T, path string) exchange {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ex := exchange{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "|", 4)
		if len(parts) != 4 {
			t.Fatalf("%s: %q: want step|flags|topic|payload", path, line)
		}
		ex[parts[0]] = [3]string{parts[1], parts[2], parts[3]}
	}
	return ex
}

// replay publishes one step with mosquitto_pub.
func (ex exchange) replay(t *testing.T, addr, step string) {
	t.Helper()
	m, ok := ex[step]
	if !ok {
		t.Fatalf("no step %q in the exchange", step)
	}
	payload := strings.ReplaceAll(m[2], "{now}", strconv.FormatInt(nowMs(), 10))
	pub(t, addr, m[1], payload, strings.Fields(m[0])...)
}

// lastSetpoint reads the room's setpoint through BEMCom's REST API.
func (r *rig) lastSetpoint(t *testing.T) string {
	var pts []restPoint
	r.do(t, "GET", "/bemcom/datapoint/?connector__name=room&key_in_connector=setpoint", readToken, nil, &pts)
	if len(pts) != 1 {
		t.Fatalf("setpoint datapoint: %+v", pts)
	}
	var lv struct {
		Msgs map[string]struct {
			Value string `json:"value"`
		} `json:"msgs_by_datapoint_id"`
	}
	r.do(t, "GET", fmt.Sprintf("/bemcom/datapoint/last_value/?id__in=%d", pts[0].ID), readToken, nil, &lv)
	return lv.Msgs[strconv.Itoa(pts[0].ID)].Value
}

// TestGridboxAsConnector: the demo room acts as BEMCom connector "room"
// against a recorded BEMCom API exchange: available_datapoints, logs,
// heartbeats and raw messages first; after the datapoint map the mapped
// sensor values (retained); actuator values go through the write path —
// one within limits is written, one beyond them is refused and logged to
// room/logs; a malformed map is counted.
func TestGridboxAsConnector(t *testing.T) {
	r := start(t, "{heartbeat: 1s, raw_message_to_db: true}")
	ex := loadExchange(t, "testdata/api-exchange.txt")
	sub := mqttcli.Subscribe(t, r.mqtt, nil, "room/#")

	av := waitMsg(t, sub, "room/available_datapoints", nil)
	var avail struct {
		Sensor   map[string]any `json:"sensor"`
		Actuator map[string]any `json:"actuator"`
	}
	decode(t, av, &avail)
	if _, ok := avail.Sensor["temperature"]; !ok || len(avail.Sensor) != 1 || len(avail.Actuator) != 1 || avail.Actuator["setpoint"] == nil {
		t.Errorf("available_datapoints %s: want sensor temperature and actuator setpoint", av.Payload)
	}
	hb := waitMsg(t, sub, "room/heartbeat", nil)
	var beat map[string]int64
	decode(t, hb, &beat)
	if beat["next_heartbeats_timestamp"]-beat["this_heartbeats_timestamp"] != 1000 || hb.Retained {
		t.Errorf("heartbeat %+v: want next = this + 1 s, not retained", hb)
	}
	raw := waitMsg(t, sub, "room/raw_message_to_db", nil)
	var rm struct {
		Payload struct {
			RawMessage map[string]any `json:"raw_message"`
			Timestamp  int64          `json:"timestamp"`
		} `json:"payload"`
		Version string `json:"connector_version"`
	}
	decode(t, raw, &rm)
	if len(rm.Payload.RawMessage) != 1 || rm.Payload.Timestamp <= 0 || rm.Version != "1.2.3" {
		t.Errorf("raw message %s", raw.Payload)
	}
	late := mqttcli.Subscribe(t, r.mqtt, nil, "room/available_datapoints", "room/logs")
	for _, topic := range []string{"room/available_datapoints", "room/logs"} {
		if m := waitMsg(t, late, topic, nil); !m.Retained {
			t.Errorf("%s is not retained", topic)
		}
	}
	if sub.Count("room/messages/11/value") != 0 {
		t.Fatal("a value was published before the datapoint map")
	}

	ex.replay(t, r.mqtt, "stale")
	ex.replay(t, r.mqtt, "map")
	tv := waitMsg(t, sub, "room/messages/11/value", nil)
	var v map[string]any
	decode(t, tv, &v)
	if _, ok := v["value"].(float64); !ok || v["timestamp"].(float64) <= 0 {
		t.Errorf("temperature message %s: want a number and a timestamp", tv.Payload)
	}
	if m := waitMsg(t, mqttcli.Subscribe(t, r.mqtt, nil, "room/messages/11/value"), "room/messages/11/value", nil); !m.Retained {
		t.Error("the sensor value is not retained")
	}

	ex.replay(t, r.mqtt, "value")
	testenv.Eventually(t, 30*time.Second, "the setpoint written to 21", func() bool { return r.lastSetpoint(t) == "21.0" })

	ex.replay(t, r.mqtt, "beyond")
	waitMsg(t, sub, "room/logs", func(m mqttcli.Msg) bool {
		return strings.Contains(m.Payload, `"level":40`) && strings.Contains(m.Payload, "setpoint") && strings.Contains(m.Payload, "40")
	})
	if got := r.lastSetpoint(t); got != "21.0" {
		t.Errorf("setpoint %s after a refused write, want 21.0", got)
	}
	var audit json.RawMessage
	r.do(t, "GET", "/api/v1/audit", readToken, nil, &audit)
	if n := strings.Count(string(audit), `"source":"bemcom"`); n != 2 || strings.Contains(string(audit), `"value":23`) {
		t.Errorf("audit log %s: want the applied and the refused write with source bemcom, not the stale retained 23", audit)
	}

	series := `gridbox_bemcom_bad_payloads_total{connector="room",sink="dialects"}`
	pub(t, r.mqtt, "room/datapoint_map", `{"sensor": ["temperature"]}`)
	testenv.Eventually(t, 30*time.Second, "the malformed map counted", func() bool { return testenv.Metric(t, r.http+"/metrics", series) >= 1 })

	// Values keep coming while mapped; an empty map stops them.
	n0 := sub.Count("room/messages/11/value")
	testenv.Eventually(t, 30*time.Second, "more temperature values", func() bool { return sub.Count("room/messages/11/value") > n0+2 })
	ex.replay(t, r.mqtt, "clear")
	testenv.Eventually(t, 30*time.Second, "the clearing map applied", func() bool {
		n := sub.Count("room/messages/11/value")
		time.Sleep(time.Second) // the room polls every 200 ms: values would keep coming
		return sub.Count("room/messages/11/value") == n
	})
}
