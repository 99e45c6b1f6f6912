package cfos_test

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
		"dialects:\n  cfos: {root: \"cfos/#\"}\n",
		"dialects:\n  cfos: {wallboxes: {E1: WB1}}\n",
		"dialects:\n  cfos: {wallboxes: {E1: wb1, E2: wb1}}\n",
		"dialects:\n  cfos: {vars: {x: nodatapoint}}\n",
		"dialects:\n  cfos: {meters: {M3: \"\"}}\n",
		"dialects:\n  cfos: {interval: 1ms}\n",
		"dialects:\n  cfos: {roots: cfos_mqtt}\n",
	} {
		if err := check([]byte("site: home\nhttp: {auth: none}\nmqtt: {broker: embedded}\n" + bad)); err == nil {
			t.Errorf("%q passes the check", bad)
		} else {
			t.Log(err)
		}
	}
}
