package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/sim"
)

// dlDriver is the reference's SMA STP example as an inline datalogger driver.
const dlDriver = `{"common": {"fncode": 3, "words": 2},
  "fields": {"P_total": {"register": 30775, "datatype": "int32", "unit": "W", "valuemap": {"0x80000000": null}},
             "P_L1": {"register": 30777, "datatype": "int32", "unit": "W", "valuemap": {"0x80000000": null}},
             "condition": {"register": 30201, "datatype": "uint32"},
             "freq": {"register": 30803, "datatype": "uint32", "multiplier": 0.01, "unit": "Hz"}}}`

// pyRead reads holding registers of unit 3 with pymodbus and decodes them
// as big-endian 32-bit numbers: an independent decoder of the simulator.
const pyRead = `
import sys
from pymodbus.client import ModbusTcpClient
host, port = sys.argv[1], int(sys.argv[2])
c = ModbusTcpClient(host, port=port)
c.connect()
for a, signed in ((30775, True), (30777, True), (30201, False)):
    r = c.read_holding_registers(a, 2, slave=3)
    v = (r.registers[0] << 16) | r.registers[1]
    if signed and v >= 1 << 31:
        v -= 1 << 32
    print(v)
c.close()
`

// TestDataloggerFormatConfig: a config in the edge datalogger's own
// format sent with mosquitto_pub on d/config becomes gridbox devices; the
// records on u/data carry _d, _vid, the reading names and the values an
// independent decoder reads from the simulator; bad configs are refused on
// u/log/msg and leave the config file as it was.
func TestDataloggerFormatConfig(t *testing.T) {
	py := testenv.Tool(t, "/usr/bin/python3")
	broker := mqttcli.StartBroker(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inv, err := sim.Start(ctx, "sma-stp", "127.0.0.1:0", 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "gridbox.yaml")
	orig := fmt.Sprintf(`site: dlsite
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: "mqtt://%s"}
store: {path: %q}
dialects:
  datalogger: {read_interval: 1s, remote_config: true}
`, broker, filepath.Join(dir, "data"))
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	s := mqttcli.Subscribe(t, broker, nil, "u/#")
	spawn(t, "run", "-c", path)
	testenv.Eventually(t, 30*time.Second, "u/meta/arch from the dialect", func() bool {
		m, ok := s.Last("u/meta/arch")
		return ok && m.Payload != ""
	})
	logs := func() []string {
		var out []string
		for _, m := range s.Msgs() {
			if m.Topic == "u/log/msg" {
				out = append(out, m.Payload)
			}
		}
		return out
	}
	send := func(payload string) string {
		t.Helper()
		n := len(logs())
		if err := mqttcli.Publish(t, broker, "d/config", payload); err != nil {
			t.Fatal(err)
		}
		var l []string
		defer func() {
			if t.Failed() {
				t.Logf("messages: %v", s.Msgs())
			}
		}()
		testenv.Eventually(t, 30*time.Second, "an answer on u/log/msg", func() bool {
			l = logs()
			return len(l) > n && strings.Contains(strings.Join(l[n:], "\n"), "d/config applied") || len(l) > n && strings.HasPrefix(l[len(l)-1], "d/config refused")
		})
		return strings.Join(l[n:], "\n")
	}
	port := inv.Addr()[strings.LastIndex(inv.Addr(), ":")+1:]
	dev := `"sma_stp_1": {"driver": "sma_stp", "reading_type": "modbustcp", "vendor_id": "1234567890", "timeout": 5,
	   "address": {"host": "127.0.0.1", "port": ` + port + `, "unit_id": 3}}`

	// Refused by the translation: every problem named.
	ans := send(`{"devices": {` + dev + `}, "drivers": {}, "readings": {"P_AC": {"device": "nosuch", "var": "P_total"}}}`)
	for _, w := range []string{"d/config refused", `readings.P_AC: device "nosuch"`} {
		if !strings.Contains(ans, w) {
			t.Errorf("answer %q does not tell %q", ans, w)
		}
	}
	// Refused by the check of the translated config (the driver file's datatype).
	ans = send(`{"devices": {` + dev + `}, "drivers": {"sma_stp": {"fields": {"P_total": {"register": 30775, "datatype": "float32"}}}}}`)
	if !strings.Contains(ans, "d/config refused") || !strings.Contains(ans, "float32") {
		t.Errorf("bad driver answered %q", ans)
	}
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Fatalf("config file changed by refused configs:\n%s", b)
	}

	good := `{"devices": {` + dev + `,
	   "spare": {"driver": "sma_stp", "enabled": false, "address": {"host": "127.0.0.1"}},
	   "ups": {"driver": "ups", "reading_type": "snmp", "address": {"host": "127.0.0.1"}}},
	 "readings": {"P_AC": {"device": "sma_stp_1", "var": "P_total"}, "P_L1": {"device": "sma_stp_1", "var": "P_L1"},
	              "cond": {"device": "sma_stp_1", "var": "condition"}},
	 "drivers": {"sma_stp": ` + dlDriver + `},
	 "read_interval": 1, "output": [{"field": "P_x", "source": "P_AC*2"}]}`
	ans = send(good)
	if !strings.Contains(ans, "d/config applied: config ") {
		t.Fatalf("good config answered %q", ans)
	}
	for _, w := range []string{"not translated: output", `not translated: devices.ups: reading_type "snmp"`, "not translated: devices.spare: disabled"} {
		if !strings.Contains(ans, w) {
			t.Errorf("answer %q does not tell %q", ans, w)
		}
	}
	id := ans[strings.Index(ans, "d/config applied: config ")+len("d/config applied: config "):]
	id = strings.Fields(id)[0]

	out, err := exec.Command(py, "-c", pyRead, "127.0.0.1", port).CombinedOutput()
	if err != nil {
		t.Fatalf("pymodbus: %v\n%s", err, out)
	}
	want := strings.Fields(string(out)) // P_total, P_L1, condition
	var rec map[string]any
	var cfgID any
	testenv.Eventually(t, 60*time.Second, "a u/data record of sma_stp_1 with the readings", func() bool {
		for _, m := range s.Msgs() {
			if m.Topic != "u/data" {
				continue
			}
			var p struct {
				R []map[string]any `json:"r"`
				M map[string]any   `json:"m"`
			}
			if json.Unmarshal([]byte(m.Payload), &p) != nil {
				continue
			}
			for _, r := range p.R {
				if r["_d"] == "sma_stp_1" && r["P_AC"] != nil && r["P_L1"] != nil && r["cond"] != nil {
					rec, cfgID = r, p.M["config_id"]
				}
			}
		}
		return rec != nil
	})
	if rec["_vid"] != "1234567890" || cfgID != id {
		t.Errorf("record %v, config_id %v (want _vid 1234567890, config_id %s)", rec, cfgID, id)
	}
	for i, k := range []string{"P_AC", "P_L1", "cond"} {
		if fmt.Sprint(rec[k]) != want[i] {
			t.Errorf("%s = %v, pymodbus reads %s", k, rec[k], want[i])
		}
	}
	for k := range rec {
		if !strings.HasPrefix(k, "_") && k != "P_AC" && k != "P_L1" && k != "cond" {
			t.Errorf("field %s is not a reading: %v", k, rec)
		}
	}
	stored, err := os.ReadFile(filepath.Join(dir, "data", "datalogger", "config.json"))
	if err != nil || string(stored) != good {
		t.Errorf("stored datalogger config: %v\n%s", err, stored)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "sma_stp_1") || !strings.Contains(string(b), "remote_config: true") {
		t.Errorf("config file:\n%s", b)
	}
}
