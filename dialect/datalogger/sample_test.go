package datalogger_test

import (
	"os"
	"testing"

	"github.com/gridbox/gridbox/config"
	gw "github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/profile"
)

// TestSampleConfigChecks: sample.yaml passes `gridbox check`; broken
// copies do not.
func TestSampleConfigChecks(t *testing.T) {
	data, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	check := func(src []byte) error {
		cfg, err := config.Parse(src, "sample.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			return err
		}
		return gw.Check(cfg, gw.Options{Profiles: profile.Builtin()})
	}
	if err := check(data); err != nil {
		t.Fatalf("sample.yaml: %v", err)
	}
	for _, bad := range []string{
		"dialects:\n  datalogger: {read_interval: 0.5s}\n",
		"dialects:\n  datalogger: {vendor_ids: {inverter: \"\"}}\n",
		"dialects:\n  datalogger: {commands: [format_disk]}\n",
		"dialects:\n  datalogger: {interval: 60s}\n",
	} {
		if err := check([]byte("site: home\nhttp: {auth: none}\n" + bad)); err == nil {
			t.Errorf("%q passes the check", bad)
		} else {
			t.Log(err)
		}
	}
}
