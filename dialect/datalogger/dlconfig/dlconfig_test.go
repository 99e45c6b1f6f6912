package dlconfig

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const stp = `{"common": {"fncode": 3, "words": 2},
 "fields": {"P_total": {"register": 30775, "datatype": "int32", "unit": "W"},
            "total_yield": {"register": 30529, "datatype": "uint32", "valuemap": {"0xffffffff": null}},
            "freq": {"register": 30803, "datatype": "uint32", "multiplier": 0.01}}}`

// TestTranslate: devices, defaults, readings, vendor ids, inline drivers
// (restricted to the readings, moved by register_offset) and the notes.
func TestTranslate(t *testing.T) {
	src := `{"devices": {
   "sma_stp_1": {"driver": "sma_stp", "reading_type": "modbustcp", "vendor_id": "1234567890", "timeout": 5,
                 "address": {"host": "10.0.0.5", "unit_id": 3, "register_offset": -1}},
   "meter": {"driver": "janitza-umg96rm", "min_read_interval": 120, "address": {"device": "/dev/ttyUSB0", "baudrate": 19200}},
   "off": {"driver": "sma_stp", "enabled": false, "address": {"host": "x"}},
   "ups": {"driver": "ups", "reading_type": "snmp", "address": {"host": "y"}}},
 "readings": {"P_AC": {"device": "sma_stp_1", "var": "P_total"}, "E": {"device": "sma_stp_1", "var": "total_yield"}},
 "drivers": {"sma_stp": ` + stp + `},
 "read_interval": 30, "read_roundtime": true, "output": [{"field": "x", "source": "a+b"}]}`
	c, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r, errs := Translate(c, "/data/dl")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	got, _ := json.Marshal(r.Devices)
	file := filepath.Join("/data/dl", "sma_stp-")
	want := `[{"driver":"modbus","id":"meter","interval":"2m0s","profile":"janitza-umg96rm","unit":1,"url":"rtu:///dev/ttyUSB0?baud=19200"},` +
		`{"driver":"modbus","id":"sma_stp_1","interval":"30s","profile":"` + file
	if !strings.HasPrefix(string(got), want) || !strings.Contains(string(got), `"timeout":"5s","unit":3,"url":"tcp://10.0.0.5:502"}]`) {
		t.Fatalf("devices\n got %s\nwant %s…", got, want)
	}
	if len(r.Drivers) != 1 {
		t.Fatalf("driver files: %v", r.Drivers)
	}
	for path, b := range r.Drivers {
		var drv struct {
			Fields map[string]map[string]any `json:"fields"`
		}
		if err := json.Unmarshal(b, &drv); err != nil || !strings.HasPrefix(path, file) {
			t.Fatalf("%s: %v", path, err)
		}
		if len(drv.Fields) != 2 || drv.Fields["P_total"]["register"] != 30774.0 || drv.Fields["total_yield"]["register"] != 30528.0 {
			t.Fatalf("driver file fields (readings only, offset -1): %v", drv.Fields)
		}
	}
	d, _ := json.Marshal(r.Dialect)
	wantD := `{"field_names":{"sma_stp_1/p_total":"P_AC","sma_stp_1/total_yield":"E"},"fields":{"sma_stp_1":["total_yield","p_total"]},` +
		`"read_interval":"30s","read_roundtime":true,"vendor_ids":{"sma_stp_1":"1234567890"}}`
	if string(d) != wantD {
		t.Fatalf("dialect\n got %s\nwant %s", d, wantD)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, w := range []string{"output:", "devices.off: disabled", `devices.ups: reading_type "snmp"`} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes do not tell %q:\n%s", w, notes)
		}
	}
}

// TestTranslateErrors: every problem is named.
func TestTranslateErrors(t *testing.T) {
	if _, err := Parse([]byte(`{"devices": {}, "bogus": 1}`)); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown key: %v", err)
	}
	c, err := Parse([]byte(`{"devices": {"bad id": {"driver": "x", "address": {"host": "h"}},
	   "a": {"driver": "d", "address": {}}, "b": {"driver": "d", "address": {"host": "h"}}},
	 "readings": {"r1": {"device": "nosuch", "var": "x"}, "r2": {"device": "b", "var": "missing"}},
	 "drivers": {"d": {"fields": {"x": {"register": 1}}}}, "read_interval": 0}`))
	if err != nil {
		t.Fatal(err)
	}
	_, errs := Translate(c, "/d")
	all := strings.Join(errs, "\n")
	for _, w := range []string{"devices.bad id:", "devices.a.address: want host", `readings.r1: device "nosuch"`, "fields.missing: not in the driver", "read_interval: 0"} {
		if !strings.Contains(all, w) {
			t.Errorf("errors do not name %q:\n%s", w, all)
		}
	}
}

// TestEdit: devices are replaced, the dialect's keys set, the rest kept.
func TestEdit(t *testing.T) {
	old := "site: home # the site\nmqtt: {broker: \"mqtt://127.0.0.1:1883\"}\ndialects:\n  datalogger:\n    remote_config: true\n    read_interval: 60s\ndevices:\n  - {id: old, driver: modbus, url: tcp://x:502}\n"
	r := Result{Devices: []map[string]any{{"id": "new", "driver": "modbus"}}, Dialect: map[string]any{"read_interval": "5s", "vendor_ids": map[string]any{"new": "v1"}}}
	b, err := Edit([]byte(old), r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	dl := got["dialects"].(map[string]any)["datalogger"].(map[string]any)
	if dl["remote_config"] != true || dl["read_interval"] != "5s" || dl["vendor_ids"].(map[string]any)["new"] != "v1" {
		t.Fatalf("dialect: %v", dl)
	}
	if devs := got["devices"].([]any); len(devs) != 1 || devs[0].(map[string]any)["id"] != "new" {
		t.Fatalf("devices: %v", devs)
	}
	if !strings.Contains(string(b), "# the site") || got["mqtt"] == nil {
		t.Fatalf("the rest of the config not kept:\n%s", b)
	}
	b, err = Edit([]byte(`{"site": "s", "uplink": [{"broker": "mqtt://x", "format": "datalogger"}, {"broker": "mqtt://y"}]}`), r)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		Uplink []map[string]any `yaml:"uplink"`
	}
	if err := yaml.Unmarshal(b, &up); err != nil {
		t.Fatal(err)
	}
	if dl, _ := up.Uplink[0]["datalogger"].(map[string]any); dl["read_interval"] != "5s" || up.Uplink[1]["datalogger"] != nil {
		t.Fatalf("uplink datalogger sections:\n%s", b)
	}
	if _, err := Edit([]byte("- a\n"), r); err == nil {
		t.Fatal("a config that is not a mapping was edited")
	}
}
