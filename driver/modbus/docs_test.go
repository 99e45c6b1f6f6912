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
