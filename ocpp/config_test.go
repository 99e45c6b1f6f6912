package ocpp

import (
	"os"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
)

// decodeSection decodes the ocpp: section of a YAML document.
func decodeSection(t *testing.T, src, file string) (*Config, []config.FieldError) {
	t.Helper()
	cfg, err := config.Parse([]byte(src), file, func(k string) (string, bool) { return "x", !strings.HasPrefix(k, "GRIDBOX_") })
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	sec := cfg.Section("ocpp")
	if sec == nil {
		t.Fatalf("%s: no ocpp section", file)
	}
	c := newConfig()
	if errs := config.Decode(sec.Node, c, "ocpp"); len(errs) > 0 {
		return c, errs
	}
	return c, c.Validate()
}

// TestSamples: sample.yaml and the sample of docs/ocpp.md are valid.
func TestSamples(t *testing.T) {
	b, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c, errs := decodeSection(t, string(b), "sample.yaml"); len(errs) > 0 || len(c.ChargePoints) != 2 {
		t.Errorf("sample.yaml: %v (%d charge points)", errs, len(c.ChargePoints))
	}
	doc, err := os.ReadFile("../docs/ocpp.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(doc), "```yaml\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("no yaml block in docs/ocpp.md")
	}
	if c, errs := decodeSection(t, block, "docs/ocpp.md"); len(errs) > 0 || c.ChargePoints[0].ID != "CP-001" || c.MaxCurrent != 16 {
		t.Errorf("docs/ocpp.md: %v %+v", errs, c)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"ocpp: {path: ocpp}", "path"},
		{"ocpp: {cert_file: a.crt}", "cert_file"},
		{"ocpp: {charge_points: [{id: A}, {id: A}]}", "listed twice"},
		{"ocpp: {charge_points: [{id: CP.1}, {id: cp-1}]}", "same device id"},
		{"ocpp: {charge_points: [{id: -x}]}", "letter or digit"},
		{"ocpp: {charge_points: [{id: a/b}]}", "charge_points[0].id"},
		{"ocpp: {phases: 2}", "phases"},
		{"ocpp: {max_current: 0}", "max_current"},
		{"ocpp: {id_tags: [\"\"]}", "id_tags[0]"},
		{"ocpp: {heartbeat: 10ms}", "heartbeat"},
		{"ocpp: {colour: red}", "colour"},
	} {
		_, errs := decodeSection(t, tc.src, "t.yaml")
		if !strings.Contains(config.Errors(errs).Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.src, errs, tc.want)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"CP-001": "cp-001", "Garage Box#2": "garage-box-2", "wb_1": "wb_1", "Ümlaut": "-mlaut"} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
