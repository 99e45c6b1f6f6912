package config

import (
	"errors"
	"fmt"
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

// TestSyntaxErrorLine: a YAML syntax error is one error FILE:LINE: message at
// the line of the problem, also where yaml.v3's own message names another
// line (its parser errors name the line before, or where the block starts).
func TestSyntaxErrorLine(t *testing.T) {
	cases := []struct {
		src  string
		line int
		msg  string
	}{
		{"site: a\n- http: {auth: none}\n", 2, "did not find expected key"},           // yaml.v3: line 1
		{"site: a\nmqtt: : x\n", 2, "mapping values are not allowed in this context"}, // yaml.v3: line 2
		{"site: a\nstore:\n  path: x\n  batch_size: 1\n tokens: 1\n", 5, "did not find expected key"},
		{"site: a\nhttp:\n  tokens:\n    - a\n    b: 1\n", 5, "did not find expected '-' indicator"},
		{"site: a\nmqtt: {broker: embedded\nstore: {}\n", 2, "did not find expected ',' or '}'"}, // the unclosed brace
		{"site: a\nhttp: {listen: \":80}\nstore: {}\n", 2, "found unexpected end of stream"},     // the unclosed quote
		{"site: a\n\tmqtt: {}\n", 2, "found a tab character"},
		{"site: a\nhttp: *nope\n", 2, "unknown anchor 'nope' referenced"}, // yaml.v3: no line
	}
	for _, c := range cases {
		cfg, err := Parse([]byte(c.src), "bad.yaml", env(nil))
		var es Errors
		if cfg != nil || !errors.As(err, &es) || len(es) != 1 {
			t.Errorf("%q: want no config and one error, got %v", c.src, err)
			continue
		}
		want := fmt.Sprintf("bad.yaml:%d: not valid YAML: %s", c.line, c.msg)
		if e := es[0]; e.Line != c.line || e.Path != "" || !strings.HasPrefix(e.Error(), want) {
			t.Errorf("%q: got %q, want %q", c.src, e.Error(), want)
		}
	}
}

// TestDurationRange: a duration that parses but is not positive is reported
// as "must be positive", a text that is no duration as "not a duration", from
// the file and from GRIDBOX_* overrides alike.
func TestDurationRange(t *testing.T) {
	cases := []struct {
		src string
		env map[string]string
		msg string
	}{
		{"store: {flush_interval: 0s}\n", nil, "g.yaml:2: store.flush_interval: 0s: must be positive"},
		{"store: {flush_interval: -5s}\n", nil, "g.yaml:2: store.flush_interval: -5s: must be positive"},
		{"store: {flush_interval: 2s}\n", nil, "g.yaml:2: store.flush_interval: 2s: want at most 1s"},
		{"store: {flush_interval: soon}\n", nil, `g.yaml:2: store.flush_interval: "soon" is not a duration`},
		{"store: {flush_interval: 1s}\n", map[string]string{"GRIDBOX_STORE_FLUSH_INTERVAL": "-1ms"}, "store.flush_interval: -1ms: must be positive"},
	}
	for _, c := range cases {
		_, err := Parse([]byte("http: {auth: none}\n"+c.src), "g.yaml", env(c.env))
		if err == nil || !strings.Contains(err.Error(), c.msg) || strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("%q: got %v, want one error %q", c.src, err, c.msg)
		}
	}
}

// TestTypeErrorOnList: a list where a string belongs is reported at the key,
// not at the list's first item on the same line.
func TestTypeErrorOnList(t *testing.T) {
	_, err := Parse([]byte("http: {auth: none}\nmqtt:\n  broker: [a, b]\n"), "g.yaml", env(nil))
	if err == nil || !strings.HasPrefix(err.Error(), "g.yaml:3: mqtt.broker: cannot unmarshal !!seq into string") {
		t.Fatalf("got %v", err)
	}
}
