package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte("http: {auth: none}\n"), "g.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.Broker != "embedded" || c.MQTT.Prefix != "gridbox" || c.Store.Path != "./data" || c.HTTP.Listen != ":8080" {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if c.Store.FlushInterval.D() != 500*time.Millisecond {
		t.Fatalf("flush interval %v", c.Store.FlushInterval.D())
	}
}

func TestEveryErrorWithPathAndLine(t *testing.T) {
	src := `site: home-42
http:
  listen: ":8080"
  auth: none
mqtt:
  broker: ftp://example.com
  prefxi: gridbox
store:
  batch_size: many
devices:
  - id: room
    driver: modbus
  - id: Room!
    driver: modbus
`
	_, err := Parse([]byte(src), "bad.yaml", env(nil))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("want Errors, got %v", err)
	}
	want := []struct {
		line int
		path string
		msg  string
	}{
		{6, "mqtt.broker", "scheme"},
		{7, "mqtt.prefxi", "unknown key"},
		{9, "store.batch_size", "many"},
		{13, "devices[1].id", "not a slug"},
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), es)
	}
	for i, w := range want {
		e := es[i]
		if e.Line != w.line || e.Path != w.path || !strings.Contains(e.Msg, w.msg) || e.File != "bad.yaml" {
			t.Errorf("error %d = %q, want line %d path %s containing %q", i, e.Error(), w.line, w.path, w.msg)
		}
	}
	if !strings.HasPrefix(es[0].Error(), "bad.yaml:6: mqtt.broker: ") {
		t.Errorf("format: %q", es[0].Error())
	}
}

func TestEnvOverridesAndSecrets(t *testing.T) {
	src := "http:\n  auth: token\n  tokens: [\"${API_TOKEN}\"]\nmqtt:\n  broker: embedded\n"
	c, err := Parse([]byte(src), "g.yaml", env(map[string]string{
		"API_TOKEN":                    "s3cret",
		"GRIDBOX_MQTT_BROKER":          "mqtt5://u:p@127.0.0.1:1883",
		"GRIDBOX_STORE_BATCH_SIZE":     "123",
		"GRIDBOX_STORE_FLUSH_INTERVAL": "250ms",
		"GRIDBOX_HTTP_METRICS_AUTH":    "token",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Tokens[0] != "s3cret" || c.MQTT.Broker != "mqtt5://u:p@127.0.0.1:1883" || c.Store.BatchSize != 123 ||
		c.Store.FlushInterval.D() != 250*time.Millisecond || c.HTTP.MetricsAuth != "token" {
		t.Fatalf("overrides not applied: %+v", c)
	}
}

func TestMissingSecretNamed(t *testing.T) {
	_, err := Parse([]byte("http:\n  tokens: [\"${NOPE}\"]\n"), "g.yaml", env(nil))
	if err == nil || !strings.Contains(err.Error(), "g.yaml:2: http.tokens[0]: environment variable NOPE is not set") {
		t.Fatalf("got %v", err)
	}
}

func TestBadEnvOverrideReported(t *testing.T) {
	_, err := Parse([]byte("http: {auth: none}\n"), "g.yaml", env(map[string]string{"GRIDBOX_STORE_BATCH_SIZE": "lots"}))
	if err == nil || !strings.Contains(err.Error(), "store.batch_size") {
		t.Fatalf("got %v", err)
	}
}

func TestDuplicateDeviceIDs(t *testing.T) {
	src := "http: {auth: none}\ndevices:\n  - {id: a, driver: modbus}\n  - {id: a, driver: modbus}\n  - {driver: modbus}\n"
	_, err := Parse([]byte(src), "g.yaml", env(nil))
	if err == nil || !strings.Contains(err.Error(), `devices[1].id: "a" is already used by devices[0]`) ||
		!strings.Contains(err.Error(), "devices[2].id: missing") {
		t.Fatalf("got %v", err)
	}
}

func TestLocate(t *testing.T) {
	src := "devices:\n  - id: m\n    registers:\n      - name: a\n      - name: b\n        type: bogus\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for path, line := range map[string]int{
		"devices[0].registers[1].type": 6,
		"devices[0].registers[1]":      5,
		"devices[0].registers[7].type": 4, // missing item: nearest parent (the sequence)
		"devices[0].id":                2,
	} {
		if got := Locate(root, path); got != line {
			t.Errorf("Locate(%s) = %d, want %d", path, got, line)
		}
	}
}
