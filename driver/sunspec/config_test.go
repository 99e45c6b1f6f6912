package sunspec

import (
	"os"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"gopkg.in/yaml.v3"
)

// decodeDevices decodes and validates every device of a YAML document's
// `devices:` list as the gateway does.
func decodeDevices(t *testing.T, src string) [][]config.FieldError {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	var out [][]config.FieldError
	for i, n := range root.Content[0].Content {
		if n.Value != "devices" {
			continue
		}
		for _, d := range root.Content[0].Content[i+1].Content {
			c := NewConfig()
			errs := config.Decode(d, c, "devices")
			if len(errs) == 0 {
				errs = c.Validate()
			}
			out = append(out, errs)
		}
	}
	return out
}

// TestSampleConfigs: sample.yaml and the sample of docs/driver-sunspec.md
// are valid, so the documentation cannot drift from the code.
func TestSampleConfigs(t *testing.T) {
	sample, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/driver-sunspec.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "```yaml\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("no yaml block in docs/driver-sunspec.md")
	}
	for name, src := range map[string]string{"sample.yaml": string(sample), "docs": block} {
		devs := decodeDevices(t, src)
		if len(devs) != 2 {
			t.Errorf("%s: %d devices, want 2", name, len(devs))
		}
		for i, errs := range devs {
			if len(errs) > 0 {
				t.Errorf("%s devices[%d]: %v", name, i, config.Errors(errs))
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	devs := decodeDevices(t, `devices:
  - {id: a, driver: sunspec, url: "tcp://h:502", unit: 1, units: [2, 2, 300], base: 70000, interval: 0s, timeout: -1s}
  - {id: b, driver: sunspec, url: "http://h"}
  - {id: c, driver: sunspec}
  - {id: d, driver: sunspec, url: "tcp://h", registers: []}
  - {id: e, driver: sunspec, url: "tcp://h:99999", retries: 11, backoff: -1s, write_gap: -1s}
`)
	want := [][]string{
		{"units: set unit or units, not both", "units[1]: unit 2 is listed twice", "units[2]: 300 is out of 0..255",
			"base: 70000 is out of 0..65533", "interval: 0s: must be positive", "timeout: -1s: must be positive"},
		{`url: "http://h": unsupported scheme "http"`},
		{"url: missing"},
		{"registers"},
		{"port of 1..65535", "retries: 11 is out of 0..10", "backoff: -1s: must not be negative", "write_gap: -1s: must not be negative"},
	}
	for i, w := range want {
		got := config.Errors(devs[i]).Error()
		for _, s := range w {
			if !strings.Contains(got, s) {
				t.Errorf("device %d: errors %q lack %q", i, got, s)
			}
		}
	}
}

func TestParseURL(t *testing.T) {
	for in, want := range map[string]target{
		"tcp://10.0.0.5":             {url: "tcp://10.0.0.5:502", unit: -1},
		"tcp://10.0.0.5:1502?unit=3": {url: "tcp://10.0.0.5:1502", unit: 3},
		"rtuovertcp://gw:4001":       {url: "rtuovertcp://gw:4001", unit: -1},
	} {
		if got, err := parseURL(in); err != nil || got != want {
			t.Errorf("parseURL(%s) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"10.0.0.5", "tcp://", "tcp://h?unit=300", "tcp://h?baud=1", "rtu:///dev/ttyUSB0"} {
		if _, err := parseURL(bad); err == nil {
			t.Errorf("parseURL(%s) accepted", bad)
		}
	}
}
