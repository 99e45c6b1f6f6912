package bemcom_test

import (
	"os"
	"strings"
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
		cfg, err := config.Parse(src, "sample.yaml", func(k string) (string, bool) { return "token-of-" + k, strings.HasPrefix(k, "BEMCOM_") })
		if err != nil {
			return err
		}
		return gw.Check(cfg, gw.Options{Profiles: profile.Builtin()})
	}
	if err := check(data); err != nil {
		t.Fatalf("sample.yaml: %v", err)
	}
	for _, bad := range []string{
		"dialects:\n  bemcom: {roles: [broker]}\n",
		"dialects:\n  bemcom: {connectors: [\"a/b\"]}\n",
		"dialects:\n  bemcom: {heartbeat: 10ms}\n",
		"dialects:\n  bemcom: {raw_messages: true}\n",
	} {
		if err := check([]byte("site: home\nhttp: {auth: none}\n" + bad)); err == nil {
			t.Errorf("%q passes the check", bad)
		} else {
			t.Log(err)
		}
	}
}
