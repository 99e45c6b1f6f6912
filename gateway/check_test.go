package gateway_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/profile"
)

// TestCheckEveryDevicePhase: Check reports, per device, the problems of
// every phase it can run (key types, values, profile) with line and key
// path, sorted by line: a key that did not decode is not reported a second
// time by validation, a bad profile is found even when the device has other
// errors, and a profile error names the profile once.
func TestCheckEveryDevicePhase(t *testing.T) {
	src := `http: {auth: none}
devices:
  - id: a
    driver: modbus
    url: [tcp://h:502]
    timeout: fast
    interval: 0s
    profile: nope
    registers:
      - {name: p, address: 1, type: float33}
  - id: b
    driver: modbus
    url: tcp://h:502
    profile: nope
  - id: c
    driver: frob
  - id: ok
    driver: modbus
    url: tcp://h:502
    profile: sma-stp
`
	cfg, err := config.Parse([]byte(src), "g.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("the config itself is valid: %v", err)
	}
	var es config.Errors
	if !errors.As(gateway.Check(cfg, gateway.Options{Profiles: profile.Builtin()}), &es) {
		t.Fatalf("want config.Errors")
	}
	want := []string{
		`g.yaml:5: devices[0].url: cannot unmarshal !!seq into string`,
		`g.yaml:6: devices[0].timeout: "fast" is not a duration`,
		`g.yaml:7: devices[0].interval: 0s: must be positive`,
		`g.yaml:8: devices[0].profile: profile "nope": no built-in profile`,
		`g.yaml:10: devices[0].registers[0].type: unknown type "float33"`,
		`g.yaml:14: devices[1].profile: profile "nope": no built-in profile`,
		`g.yaml:16: devices[2].driver: unknown driver "frob" (known: modbus)`,
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), es)
	}
	for i, w := range want {
		if got := es[i].Error(); !strings.HasPrefix(got, w) || strings.Count(got, `"nope"`) > 1 {
			t.Errorf("error %d = %q, want %q…", i, got, w)
		}
	}
}
