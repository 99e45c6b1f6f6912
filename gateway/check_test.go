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
		`g.yaml:16: devices[2].driver: unknown driver "frob" (known: `, // the list grows with the drivers
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

// checkErrs parses src with env and returns what Parse and Check report.
func checkErrs(t *testing.T, src string, env map[string]string) string {
	t.Helper()
	cfg, err := config.Parse([]byte(src), "g.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return err.Error()
	}
	if err := gateway.Check(cfg, gateway.Options{Profiles: profile.Builtin()}); err != nil {
		return err.Error()
	}
	return ""
}

// TestSectionErrors: each sink kind's section is decoded and checked by its
// own package, reported with file, line and key path like every other error.
func TestSectionErrors(t *testing.T) {
	cases := []struct {
		src string
		env map[string]string
		msg string
	}{
		{"store: {flush_interval: 0s}\n", nil, "g.yaml:2: store.flush_interval: 0s: must be positive"},
		{"store: {flush_interval: -5s}\n", nil, "g.yaml:2: store.flush_interval: -5s: must be positive"},
		{"store: {flush_interval: 2s}\n", nil, "g.yaml:2: store.flush_interval: 2s: want at most 1s"},
		{"store: {flush_interval: soon}\n", nil, `g.yaml:2: store.flush_interval: "soon" is not a duration`},
		{"store: {flush_interval: 1s}\n", map[string]string{"GRIDBOX_STORE_FLUSH_INTERVAL": "-1ms"}, "store.flush_interval: -1ms: must be positive"},
		{"store: {batch_size: lots}\n", nil, "g.yaml:2: store.batch_size: cannot unmarshal"},
		{"store: {}\n", map[string]string{"GRIDBOX_STORE_BATCH_SIZE": "lots"}, "store.batch_size"},
		{"mqtt:\n  broker: [a, b]\n", nil, "g.yaml:3: mqtt.broker: cannot unmarshal !!seq into string"},
		{"mqtt:\n  broker: ftp://example.com\n", nil, "g.yaml:3: mqtt.broker: \"ftp://example.com\": scheme \"ftp\""},
		{"mqtt:\n  prefxi: x\n", nil, "g.yaml:3: mqtt.prefxi: unknown key (valid keys: allow_anonymous, broker, buffer, ca_file, client_id, listen, max_clients, max_packet_size, max_queued, prefix, qos, rate_limits, tls, users, websocket)"},
		{"mqtt: {prefix: a/#}\n", nil, "g.yaml:2: mqtt.prefix: \"a/#\": want a topic root without wildcards"},
		{"mqtt:\n  - {prefix: a}\n  - {name: Bad!, prefix: b}\n", nil, "g.yaml:4: mqtt[1].name: \"Bad!\" is not a slug"},
		{"mqtt:\n  - {prefix: a}\n  - {broker: nope, prefix: b}\n", nil, "g.yaml:4: mqtt[1].broker:"},
		{"mqtt:\n  - {name: x}\n  - {name: x, listen: \":1884\"}\n", nil, "sink name \"x\" is used twice"},
		{"store:\n  - {path: a}\n", nil, "g.yaml:3: store: a list is not allowed here: want one mapping"},
		{"storre: {path: a}\n", nil, "g.yaml:2: storre: unknown key (valid keys: computed, control, devices, dialects, http, loadmanagement, log, modbus_proxy, mqtt, ocpp, outputs, site, store, uplink)"},
		{"http: {auth: token}\n", nil, "g.yaml:2: http.tokens: auth \"token\" needs at least one token"},
		{"http: {auth: none, listen: nope}\n", nil, "g.yaml:2: http.listen: \"nope\" is not host:port"},
		{"", map[string]string{"GRIDBOX_MQTT_BROKER": "ftp://x"}, "mqtt.broker: \"ftp://x\": scheme"},
	}
	for _, c := range cases {
		src := c.src
		if !strings.Contains(src, "http:") {
			src = "http: {auth: none}\n" + src
		} else {
			src = "site: s\n" + src
		}
		got := checkErrs(t, src, c.env)
		if !strings.Contains(got, c.msg) || strings.Count(got, "\n") != 0 {
			t.Errorf("%q: got %q, want one error containing %q", c.src, got, c.msg)
		}
	}
}

// TestSectionDefaultsAndEnv: a kind without a section runs with its
// defaults, GRIDBOX_<SECTION>_<KEY> overrides apply to it, and `mqtt:` with
// nothing after it means the defaults.
func TestSectionDefaultsAndEnv(t *testing.T) {
	for _, src := range []string{"http: {auth: none}\n", "http: {auth: none}\nmqtt:\n"} {
		if got := checkErrs(t, src, map[string]string{"GRIDBOX_MQTT_BROKER": "mqtt5://u:p@127.0.0.1:1883", "GRIDBOX_STORE_BATCH_SIZE": "123"}); got != "" {
			t.Errorf("%q: %s", src, got)
		}
	}
}
