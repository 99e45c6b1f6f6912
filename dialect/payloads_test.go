package dialect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/profile"
)

// TestGatewayRunsPayloadDialects: a gateway from YAML on a private
// Mosquitto with the home box's glue mapping file and the datalogger
// dialect: an ingredient published by an outside client becomes a recipe
// datapoint, its data/devices message, and a field of the datalogger's
// u/data record of that device.
func TestGatewayRunsPayloadDialects(t *testing.T) {
	addr := mqttcli.StartBroker(t, "")
	mapping := filepath.Join(t.TempDir(), "mapping.json")
	if err := os.WriteFile(mapping, []byte(`{"ingredients": {"grid": {"topic_in": "meters/+/power", "json_template": "{{ value_json.w }}"}},
 "recipes": {"grid_power": {"friendly_name": "Grid power", "topic_out": "data/devices/utility_meter/active_power",
  "recipe": "{{grid}}", "entity": "utility_meter", "channel": "active_power", "unit": "W",
  "metricKind": "gauge", "metric": "GridElectricityPower"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`site: t
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: "mqtt://%s", client_id: gb-payloads}
store: {path: %q}
dialects:
  datalogger: {read_interval: 1s, vendor_ids: {utility_meter: "M-1"}}
  homebox: {mapping: %q, interval: 1s}
`, addr, t.TempDir(), mapping)
	cfg, err := config.Parse([]byte(src), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Options{Version: "test", Profiles: profile.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := gw.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := gw.Wait(); err != nil {
			t.Errorf("gateway stopped with: %v", err)
		}
	}()
	sub := mqttcli.Subscribe(t, addr, nil, "u/data", "data/devices/#")
	var rec map[string]any
	testenv.Eventually(t, 30*time.Second, "the recipe's value in a u/data record", func() bool {
		_ = mqttcli.Publish(t, addr, "meters/house/power", `{"w": 812}`)
		m, ok := sub.Last("u/data")
		var p struct {
			R []map[string]any `json:"r"`
		}
		if !ok || json.Unmarshal([]byte(m.Payload), &p) != nil {
			return false
		}
		for _, r := range p.R {
			if r["_d"] == "utility_meter" && r["active_power"] == 812.0 {
				rec = r
				return true
			}
		}
		return false
	})
	if rec["_vid"] != "M-1" {
		t.Errorf("record %v", rec)
	}
	m, ok := sub.Last("data/devices/utility_meter/active_power")
	var d map[string]any
	if !ok || json.Unmarshal([]byte(m.Payload), &d) != nil || d["metric"] != "GridElectricityPower" || d["metricKind"] != "gauge" || d["value"] != 812.0 {
		t.Errorf("data/devices message %q", m.Payload)
	}
}
