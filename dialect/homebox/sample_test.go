package homebox_test

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
		"dialects:\n  homebox: {mapping: missing.json}\n",
		"dialects:\n  homebox: {interval: 7m}\n",
		"dialects:\n  homebox: {streams: {meter/power: {entity: a, channel: b}}}\n",
		"dialects:\n  homebox: {streams: {meter/power: {entity: a/b, channel: c, metric: X}}}\n",
		"dialects:\n  homebox: {upload_url: ftp://x}\n",
		"dialects:\n  homebox: {mapping_file: x}\n",
	} {
		if err := check([]byte("site: home\nhttp: {auth: none}\n" + bad)); err == nil {
			t.Errorf("%q passes the check", bad)
		} else {
			t.Log(err)
		}
	}
}
