package uplink_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	gw "github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/profile"
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

// TestSampleDataloggerChecks: sample-datalogger.yaml passes the checks;
// format datalogger with send: both, or a bad datalogger key, does not.
func TestSampleDataloggerChecks(t *testing.T) {
	data, err := os.ReadFile("sample-datalogger.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) { return "secret", k == "ACCESS_KEY" }
	check := func(b []byte) error {
		cfg, err := config.Parse(b, "sample-datalogger.yaml", env)
		if err != nil {
			return err
		}
		return gw.Check(cfg, gw.Options{Profiles: profile.Builtin()})
	}
	if err := check(data); err != nil {
		t.Fatalf("sample-datalogger.yaml: %v", err)
	}
	for _, bad := range []string{"    send: both\n", "    overflow: degrade\n", "    format: ammp\n"} {
		if err := check(append(append([]byte(nil), data...), bad...)); err == nil {
			t.Errorf("%q passes the check", bad)
		}
	}
	if err := check([]byte(strings.Replace(string(data), `sma_stp_1: "1234567890"`, `sma_stp_1: ""`, 1))); err == nil {
		t.Error("an empty vendor id passes the check")
	}
}
