package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte("mqtt: {broker: embedded}\n"), "g.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Site != "gridbox" || c.Log.Level != "info" || c.Log.Format != "text" {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

// TestSectionsKeptForTheKinds: every top-level key that is not a core key
// is kept, with its line, for the sink kinds (checked by the gateway); core
// keys are decoded and checked here.
func TestSectionsKeptForTheKinds(t *testing.T) {
	src := "site: home-42\nmqtt:\n  broker: ftp://x\nlog: {level: loud}\nstorre: {path: x}\n"
	c, err := Parse([]byte(src), "g.yaml", env(nil))
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Path != "log.level" || es[0].Line != 4 {
		t.Fatalf("want one error at g.yaml:4 log.level, got %v", err)
	}
	if len(c.Sections) != 2 || c.Sections[0].Key != "mqtt" || c.Sections[0].Line != 2 || c.Sections[1].Key != "storre" || c.Sections[1].Line != 5 {
		t.Fatalf("sections %+v", c.Sections)
	}
	if s := c.Section("mqtt"); s == nil || s.Node.Kind != yaml.MappingNode {
		t.Fatalf("Section(mqtt) = %+v", s)
	}
}

// TestSectionEnvOverridesAndSecrets: ${ENV} is expanded in sections too, and
// GRIDBOX_<SECTION>_<KEY> overrides are applied to a section's node by the
// kind's config type.
func TestSectionEnvOverridesAndSecrets(t *testing.T) {
	src := "http:\n  auth: token\n  tokens: [\"${API_TOKEN}\"]\n"
	e := env(map[string]string{"API_TOKEN": "s3cret", "GRIDBOX_HTTP_AUTH": "read-open", "GRIDBOX_SITE": "over"})
	c, err := Parse([]byte(src), "g.yaml", e)
	if err != nil {
		t.Fatal(err)
	}
	if c.Site != "over" {
		t.Errorf("site = %q, want the override", c.Site)
	}
	type httpCfg struct {
		Auth   string   `yaml:"auth"`
		Tokens []string `yaml:"tokens"`
	}
	sec := c.Section("http")
	ApplyEnv(sec.Node, EnvFor("http", &httpCfg{}), c.Env)
	var h httpCfg
	if errs := Decode(sec.Node, &h, "http"); len(errs) > 0 {
		t.Fatal(errs)
	}
	if h.Auth != "read-open" || len(h.Tokens) != 1 || h.Tokens[0] != "s3cret" {
		t.Fatalf("http = %+v", h)
	}
	if got := EnvFor("http", &httpCfg{}); len(got) != 1 || got[0].Var != "GRIDBOX_HTTP_AUTH" {
		t.Errorf("EnvFor = %v (slices are not overridable)", got)
	}
}

func TestMissingSecretNamed(t *testing.T) {
	_, err := Parse([]byte("http:\n  tokens: [\"${NOPE}\"]\n"), "g.yaml", env(nil))
	if err == nil || !strings.Contains(err.Error(), "g.yaml:2: http.tokens[0]: environment variable NOPE is not set") {
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
