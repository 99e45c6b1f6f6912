package knx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/profile"
	"gopkg.in/yaml.v3"
)

// decode decodes YAML strictly into cfg, as the gateway does.
func decode(src string, cfg *Config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return err
	}
	if errs := config.Decode(doc.Content[0], cfg, ""); len(errs) > 0 {
		return config.Errors(errs)
	}
	return nil
}

func validate(t *testing.T, src string) []config.FieldError {
	t.Helper()
	c := NewConfig()
	if err := decode(src, c); err != nil {
		return []config.FieldError{{Msg: err.Error()}}
	}
	return c.Validate()
}

func TestConfigDefaults(t *testing.T) {
	c := NewConfig()
	if err := decode(`{id: k, driver: knx, url: "udp://127.0.0.1", datapoints: [{name: t, ga: 1/2/3, dpt: "9.001"}]}`, c); err != nil {
		t.Fatal(err)
	}
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if c.Mode != "tunnel" || !c.ReadAtStart || c.Timeout.D() != DefaultTimeout || c.Heartbeat.D() != DefaultHeartbeat || c.WriteGap() != 0 {
		t.Fatalf("defaults wrong: %+v", c)
	}
	if addr, _ := parseURL(c.URL, c.Mode); addr != "127.0.0.1:3671" {
		t.Fatalf("default port: %s", addr)
	}
	if addr, _ := parseURL("udp://:3671", "routing"); addr != "224.0.23.12:3671" {
		t.Fatalf("routing default group: %s", addr)
	}
	pts, _ := compile(c.Datapoints, "datapoints")
	if m := pts[0].meta; m.Kind != model.Sensor || m.Unit != "°C" || m.Format != model.ContinuousNumeric {
		t.Fatalf("meta from DPT: %+v", m)
	}
}

func TestConfigErrors(t *testing.T) {
	for src, want := range map[string]string{
		`{id: k, driver: knx, datapoints: [{name: t, ga: 1/2/3, dpt: "9.001"}]}`:                                             "url: missing",
		`{id: k, driver: knx, url: "tcp://h:3671", datapoints: [{name: t, ga: 1/2/3, dpt: "9.001"}]}`:                        `scheme "tcp"`,
		`{id: k, driver: knx, url: "udp://h:99999", datapoints: [{name: t, ga: 1/2/3, dpt: "9"}]}`:                           "out of 1..65535",
		`{id: k, driver: knx, url: "udp://h", mode: multi, datapoints: [{name: t, ga: 1/2/3, dpt: "9"}]}`:                    "mode",
		`{id: k, driver: knx, url: "udp://h"}`:                                                                               "no datapoints",
		`{id: k, driver: knx, url: "udp://h", datapoints: [{name: t, ga: 1/9/3, dpt: "9.001"}]}`:                             "datapoints[0].ga",
		`{id: k, driver: knx, url: "udp://h", datapoints: [{name: t, ga: 1/2/3, dpt: "10.001"}]}`:                            "datapoints[0].dpt",
		`{id: k, driver: knx, url: "udp://h", datapoints: [{name: T, ga: 1/2/3, dpt: "9"}]}`:                                 "datapoints[0].name",
		`{id: k, driver: knx, url: "udp://h", datapoints: [{name: t, ga: 1/2/3, dpt: "9", kind: both}]}`:                     `kind "both"`,
		`{id: k, driver: knx, url: "udp://h", datapoints: [{name: t, ga: 1/2/3, dpt: "9"}, {name: t, ga: 1/2/4, dpt: "9"}]}`: "duplicate name",
		`{id: k, driver: knx, url: "udp://h", timeout: 0s, datapoints: [{name: t, ga: 1/2/3, dpt: "9"}]}`:                    "timeout",
		`{id: k, driver: knx, url: "udp://h", tunnel: 1, datapoints: [{name: t, ga: 1/2/3, dpt: "9"}]}`:                      "tunnel",
	} {
		errs := validate(t, src)
		if got := fmt.Sprint(errs); len(errs) == 0 || !strings.Contains(got, want) {
			t.Errorf("%s: errors %s; want %q", src, got, want)
		}
	}
}

// TestKeyFormProfile loads the building framework's KNX key form as a
// profile: group addresses become datapoints named after them, with kind
// and DPT from the key form.
func TestKeyFormProfile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "knx.json")
	if err := os.WriteFile(p, []byte(`{"sensor": {"2/3/111": "DPST-3-7", "2/3/112": "DPST-9-1"}, "actuator": {"2/3/113": "DPST-1-1"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	dev := newTestDevice(t, fmt.Sprintf(`{id: room, driver: knx, url: "udp://127.0.0.1:3671", profile: %q,
		datapoints: [{name: 2-3-112, ga: 2/3/112, dpt: "9.001", description: inline wins}]}`, p), profile.Builtin())
	got := map[string]model.Datapoint{}
	for _, d := range dev.Datapoints() {
		got[d.Name] = d
	}
	if len(got) != 3 || got["2-3-111"].Kind != model.Sensor || got["2-3-111"].Format != model.DiscreteNumeric ||
		got["2-3-113"].Kind != model.Actuator || got["2-3-113"].Format != model.Bool || got["2-3-112"].Description != "inline wins" {
		t.Fatalf("datapoints %+v", got)
	}

	for body, want := range map[string]string{
		`{"sensor": {"2/3/111": "DPST-10-1"}}`: "main type 10",
		`{"sensors": {}}`:                      "field sensors not found",
		`{"sensor": {"2/3/999": "DPST-1-1"}}`:  "0..255",
		`{}`:                                   "no group addresses",
	} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		c := NewConfig()
		c.Profile = p
		errs := c.CheckProfile(profile.Builtin())
		if got := fmt.Sprint(errs); len(errs) == 0 || !strings.Contains(got, want) || !strings.Contains(got, "profile") {
			t.Errorf("%s: errors %s; want %q", body, got, want)
		}
	}
}

// TestSampleConfig validates sample.yaml and the docs page's example.
func TestSampleConfig(t *testing.T) {
	for _, file := range []string{"sample.yaml", "../../docs/driver-knx.md"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		src := string(data)
		if strings.HasSuffix(file, ".md") {
			_, rest, _ := strings.Cut(src, "```yaml\n")
			src, _, _ = strings.Cut(rest, "```")
		}
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(src), &root); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		devices := root.Content[0].Content[1]
		if len(devices.Content) == 0 {
			t.Fatalf("%s: no devices", file)
		}
		for i, n := range devices.Content {
			c := NewConfig()
			errs := config.Decode(n, c, "devices")
			if len(errs) == 0 {
				errs = c.Validate()
			}
			if len(errs) == 0 && c.Profile == "" {
				_, err = New().NewDevice(c, driver.Env{})
			}
			if len(errs) > 0 || err != nil {
				t.Errorf("%s devices[%d]: %v %v", file, i, config.Errors(errs), err)
			}
		}
	}
}
