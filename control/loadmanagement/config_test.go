package loadmanagement

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
)

// decodeSection decodes the loadmanagement: section of a YAML document as the gateway does.
func decodeSection(t *testing.T, src, file string) (*Config, []config.FieldError) {
	t.Helper()
	cfg, err := config.Parse([]byte(src), file, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	sec := cfg.Section("loadmanagement")
	if sec == nil {
		t.Fatalf("%s: no loadmanagement section", file)
	}
	c := NewConfig()
	if errs := config.Decode(sec.Node, c, "loadmanagement"); len(errs) > 0 {
		return c, errs
	}
	return c, c.Validate()
}

// TestSamples: sample.yaml and the example of docs/loadmanagement.md are valid.
func TestSamples(t *testing.T) {
	b, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, errs := decodeSection(t, string(b), "sample.yaml")
	if len(errs) > 0 || len(c.Chargers) != 4 || c.PV.StartDelay.D() != time.Minute || c.Price.Datapoint != "tariff/price" {
		t.Errorf("sample.yaml: %v %+v", errs, c)
	}
	doc, err := os.ReadFile("../../docs/loadmanagement.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "```yaml\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("no yaml block in docs/loadmanagement.md")
	}
	if c, errs := decodeSection(t, block, "docs/loadmanagement.md"); len(errs) > 0 || c.SiteMaxCurrent != 32 || c.Interval.D() != time.Second {
		t.Errorf("docs/loadmanagement.md: %v %+v", errs, c)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"loadmanagement: {}", "site_max_current"},
		{"loadmanagement: {site_max_current: 32, mode: cheap}", "mode"},
		{"loadmanagement: {site_max_current: 32, colour: red}", "colour"},
		{"loadmanagement: {site_max_current: 32, meter: grid, currents: [a/b, a/c, a/d]}", "not both"},
		{"loadmanagement: {site_max_current: 32, currents: [a/b]}", "three datapoints"},
		{"loadmanagement: {site_max_current: 32, currents: [a, a/c, a/d]}", "currents[0]"},
		{"loadmanagement: {site_max_current: 32, max_total_cur_prc: 120}", "max_total_cur_prc"},
		{"loadmanagement: {site_max_current: 32, mode: price}", "price.datapoint"},
		{"loadmanagement: {site_max_current: 32, safe_current: -1}", "safe_current"},
		{"loadmanagement: {site_max_current: 32, interval: 1ms}", "interval"},
		{"loadmanagement: {site_max_current: 32, pv: {start_surplus: 100, stop_surplus: 200}}", "pv.stop_surplus"},
		{"loadmanagement: {site_max_current: 32, chargers: [{device: a}, {device: a}]}", "listed twice"},
		{"loadmanagement: {site_max_current: 32, chargers: [{device: a, phases: 2}]}", "chargers[0].phases"},
		{"loadmanagement: {site_max_current: 32, chargers: [{device: a, min_current: 10, max_current: 8}]}", "chargers[0].min_current"},
		{"loadmanagement: {site_max_current: 32, chargers: [{device: a, priority: 101}]}", "chargers[0].priority"},
		{"loadmanagement: {site_max_current: 32, chargers: [{device: a, switch_phases: phases}]}", "chargers[0].switch_phases"},
		{"loadmanagement: {site_max_current: 32, chargers: [{device: a, speed: 3}]}", "speed"},
		{"loadmanagement: {site_max_current: 32, raise_delay: -1s}", "raise_delay"},
	} {
		_, errs := decodeSection(t, tc.src, "t.yaml")
		if !strings.Contains(config.Errors(errs).Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.src, errs, tc.want)
		}
	}
}
