package uplink_test

import (
	"os"
	"testing"

	"github.com/gridbox/gridbox/config"
	gw "github.com/gridbox/gridbox/gateway"
)

// TestSampleConfigChecks: the sample config in this folder passes the
// checks of `gridbox check`, and a broken copy does not.
func TestSampleConfigChecks(t *testing.T) {
	data, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) { return "secret", k == "UPLINK_PASSWORD" }
	cfg, err := config.Parse(data, "sample.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Check(cfg, gw.Options{}); err != nil {
		t.Fatalf("sample.yaml: %v", err)
	}
	cfg, _ = config.Parse(append(data, "    windw: 3\n"...), "sample.yaml", env)
	if err := gw.Check(cfg, gw.Options{}); err == nil {
		t.Fatal("a misspelt key passes the check")
	}
}
