package modbus

import (
	"os"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"gopkg.in/yaml.v3"
)

// TestDocsSampleConfig validates the sample configuration of
// docs/driver-modbus.md so the documentation cannot drift from the code.
func TestDocsSampleConfig(t *testing.T) {
	doc, err := os.ReadFile("../../docs/driver-modbus.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml block in docs/driver-modbus.md")
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(block), &root); err != nil {
		t.Fatal(err)
	}
	devices := root.Content[0].Content[1]
	if len(devices.Content) != 4 {
		t.Fatalf("sample has %d devices, want 4", len(devices.Content))
	}
	for i, n := range devices.Content {
		c := NewConfig()
		errs := config.Decode(n, c, "devices")
		if len(errs) == 0 {
			errs = c.Validate()
		}
		if len(errs) > 0 {
			t.Errorf("devices[%d]: %v", i, config.Errors(errs))
		}
	}
}

// TestDocsDriverFiles: the two example files of docs/driver-files.md load
// and give the datapoint names the page lists.
func TestDocsDriverFiles(t *testing.T) {
	doc, err := os.ReadFile("../../docs/driver-files.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	rest := string(doc)
	for {
		_, after, ok := strings.Cut(rest, "```json\n")
		if !ok {
			break
		}
		block, tail, _ := strings.Cut(after, "```")
		blocks, rest = append(blocks, block), tail
	}
	if len(blocks) != 2 {
		t.Fatalf("%d json blocks in docs/driver-files.md, want 2", len(blocks))
	}
	want := [][]string{
		{"p_total", "e_imp", "v_l1", "total_yield", "mode", "on", "relay_fault"},
		{"read_holding_registers__1__19000", "read_holding_registers__1__19002", "read_input_registers__5__300",
			"read_coils__5__10", "write_register__1__19000"},
	}
	for i, b := range blocks {
		p, err := ParseProfile([]byte(b), "driver-files.md")
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		names := map[string]bool{}
		for _, r := range p.registersFor(5) {
			names[r.Name] = true
		}
		for _, n := range want[i] {
			if !names[n] {
				t.Errorf("block %d: no datapoint %s (have %v)", i, n, names)
			}
			if !strings.Contains(string(doc), "`"+n+"`") {
				t.Errorf("docs/driver-files.md does not name %s", n)
			}
		}
	}
}
