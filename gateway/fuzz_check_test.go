package gateway_test

import (
	"bytes"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/profile"
)

// FuzzCheck: any config text gives a config error or a checked config from
// the whole check (every sink kind and driver), never a panic and never a
// wait: Check must not touch the network or block on a file (a profile,
// token file or CA file named /dev/stdin made it wait for input, /dev/zero
// read forever: config.ReadFile reads regular files only).
func FuzzCheck(f *testing.F) {
	if b, err := os.ReadFile("../examples/gridbox.yaml"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"site: x\nhttp: {auth: none}\n",
		"http: {auth: none}\ndevices:\n  - {id: a, driver: modbus, url: tcp://h:502, profile: sma-stp}\n",
		"http: {auth: none}\ndevices:\n  - {id: r, driver: modbus, url: 'rtu:///dev/ttyUSB0?baud=9600', profile: sma-stp}\n",
		"http: {auth: none}\ndevices:\n  - {id: k, driver: knx, url: udp://192.168.1.10:3671}\n",
		"http: {auth: none}\ndevices:\n  - {id: w, driver: keba, host: 192.168.1.20}\n",
		"http: {auth: none}\ndevices:\n  - {id: m, driver: mqtt, broker: tcp://broker:1883, topic: a/#}\n",
		"http: {auth: none}\ndevices:\n  - {id: h, driver: http, url: http://h/api, interval: 5s}\n",
		"mqtt: {broker: embedded, listen: 127.0.0.1:1883, users: [{name: u, password: p, access: read}]}\n",
		"mqtt: {broker: tcp://example.invalid:1883, ca_file: /nonexistent}\n",
		"http: {listen: 127.0.0.1:0, auth: none}\nstore: {path: /tmp/x.db}\n",
		"uplink: {broker: tcp://h:1883}\n",
		"- a\n- b\n",
		// Files that never end or wait for input: refused, never read.
		"http: {auth: none}\ndevices:\n  - {id: a, driver: modbus, url: tcp://h:502, profile: /dev/stdin}\n",
		"http: {auth: none}\ndevices:\n  - {id: a, driver: modbus, url: tcp://h:502, profile: /dev/zero}\n",
		"http: {auth: token, tokens: [{file: /dev/zero}], token_files: [/dev/stdin]}\n",
		"http: {auth: none}\ndevices:\n  - {id: m, driver: mqtt, broker: 'mqtts://b:8883', ca_file: /dev/stdin, topic: a/#}\n",
	} {
		f.Add([]byte(s))
	}
	profiles := profile.Builtin()
	env := func(k string) (string, bool) { // secrets for the example; every other variable unset
		return "0123456789abcdef0123456789abcdef", strings.HasSuffix(k, "_TOKEN") || strings.HasSuffix(k, "_PASSWORD")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse(data, "fuzz.yaml", env)
		if err != nil {
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = gateway.Check(cfg, gateway.Options{Profiles: profiles})
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			var stacks bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&stacks, 2)
			t.Fatalf("Check did not return within 20 s for:\n%s\ngoroutines:\n%s", data, stacks.String())
		}
	})
}
