package httpdrv

import (
	"os"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/profile"
	"gopkg.in/yaml.v3"
)

// configErrs decodes and validates one device like the gateway.
func configErrs(t *testing.T, src string) string {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	c := NewConfig()
	errs := config.Decode(root.Content[0], c, "d")
	if len(errs) == 0 {
		errs = c.Validate()
	}
	if len(errs) == 0 {
		if _, err := New().NewDevice(c, driver.Env{Profiles: profile.Builtin()}); err != nil {
			return err.Error()
		}
	}
	return config.Errors(errs).Error()
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{id: a, driver: http, url: "http://h", format: json, datapoints: [{name: p, path: a}], colour: red}`, "colour"},
		{`{id: a, driver: http, url: "ftp://h", format: json, datapoints: [{name: p, path: a}]}`, "want http:// or https://"},
		{`{id: a, driver: http, format: json, datapoints: [{name: p, path: a}]}`, "url: missing"},
		{`{id: a, driver: http, url: "http://h", datapoints: [{name: p, path: a}]}`, "format: missing"},
		{`{id: a, driver: http, url: "http://h", format: yaml, datapoints: [{name: p, path: a}]}`, `format: "yaml": want json, xml or keyvalue`},
		{`{id: a, driver: http, url: "http://h", format: json}`, "no datapoints"},
		{`{id: a, driver: http, url: "http://h", format: json, datapoints: [{name: p, path: "a..b"}]}`, "empty segment"},
		{`{id: a, driver: http, url: "http://h", format: json, datapoints: [{name: p, path: a}, {name: p, path: b}]}`, `datapoints[1].name: "p" is already used`},
		{`{id: a, driver: http, url: "http://h", format: json, datapoints: [{name: p, path: a, kind: actuator}]}`, "datapoints[0].write: an actuator needs a write request"},
		{`{id: a, driver: http, url: "http://h", format: json, datapoints: [{name: p, path: a, write: {path: /x}}]}`, "only an actuator"},
		{`{id: a, driver: http, url: "http://h", format: json, datapoints: [{name: p, path: a, kind: actuator, write: {path: "/x?v={{.Value"}}]}`, "datapoints[0].write.path: template"},
		{`{id: a, driver: http, url: "http://h", format: json, body: "{{.Nope", datapoints: [{name: p, path: a}]}`, "body: template"},
		{`{id: a, driver: http, url: "http://h", format: json, auth: {username: u, token: t}, datapoints: [{name: p, path: a}]}`, "not both"},
		{`{id: a, driver: http, url: "http://h", format: json, interval: 0s, max_body: 0, datapoints: [{name: p, path: a}]}`, "interval: 0s: must be positive"},
		{`{id: a, driver: http, url: "http://h", format: json, max_body: 0, datapoints: [{name: p, path: a}]}`, "max_body: 0: must be positive"},
		{`{id: a, driver: http, url: "http://h", profile: ambus-net}`, "units: profile ambus-net reads one meter per request"},
		{`{id: a, driver: http, url: "http://h", profile: no-such}`, `profile: profile "no-such": no built-in profile`},
		{`{id: a, driver: http, url: "http://h", profile: sma-stp}`, `want http`},
	}
	for _, tc := range tests {
		if got := configErrs(t, tc.src); !strings.Contains(got, tc.want) {
			t.Errorf("%s\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}
}

// TestSampleConfigs: sample.yaml and the docs page's example are valid
// devices (so neither can drift from the code), and they build.
func TestSampleConfigs(t *testing.T) {
	for _, file := range []string{"sample.yaml", "../../docs/driver-http.md"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		src := string(data)
		if strings.HasSuffix(file, ".md") {
			_, rest, ok := strings.Cut(src, "```yaml\n")
			block, _, ok2 := strings.Cut(rest, "```")
			if !ok || !ok2 {
				t.Fatalf("%s: no yaml block", file)
			}
			src = block
		}
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(src), &root); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		devices := root.Content[0].Content[1]
		if len(devices.Content) < 3 {
			t.Fatalf("%s: %d devices, want at least 3", file, len(devices.Content))
		}
		for i, n := range devices.Content {
			b, _ := yaml.Marshal(n)
			if got := configErrs(t, string(b)); got != "" {
				t.Errorf("%s devices[%d]: %s", file, i, got)
			}
		}
	}
}
