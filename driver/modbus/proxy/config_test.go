package proxy_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver/modbus/proxy"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/profile"
	"gopkg.in/yaml.v3"
)

// TestSampleConfig checks sample.yaml as `gridbox check` would (with the
// API's authentication, which the sample leaves alone, switched off).
func TestSampleConfig(t *testing.T) {
	src, err := os.ReadFile("sample.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src = append(src, "http: {auth: none}\n"...)
	cfg, err := config.Parse(src, "sample.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if err := gateway.Check(cfg, gateway.Options{Profiles: profile.Builtin()}); err != nil {
		t.Fatal(err)
	}
	proxies, err := gateway.SinkConfigs(cfg, "modbus_proxy", gateway.Options{})
	if err != nil || len(proxies) != 2 {
		t.Fatalf("sample proxies: %d, %v", len(proxies), err)
	}
	if p := proxies[0].(*proxy.Config); p.Device != "inverter" || p.MaxAge.D().Seconds() != 2 {
		t.Errorf("first proxy: %+v", p)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`{device: pv}`, "listen: missing"},
		{`{listen: "127.0.0.1", device: pv}`, "want host:port"},
		{`{listen: ":5020"}`, "device: missing"},
		{`{listen: ":5020", device: "PV 1"}`, "not a device id"},
		{`{listen: ":5020", device: pv, unit: 256}`, "unit: 256 is out of 0..255"},
		{`{listen: ":5020", device: pv, max_age: -1s}`, "max_age: -1s"},
		{`{listen: ":5020", device: pv, read_only: true, allow_unmapped_writes: true}`, "no effect with read_only"},
		{`{listen: ":5020", device: pv, timeout: 0s}`, "timeout: 0s: must be positive"},
	}
	for _, c := range cases {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(c.src), &n); err != nil {
			t.Fatal(err)
		}
		cfg := proxy.NewConfig()
		errs := config.Decode(n.Content[0], cfg, "modbus_proxy[0]")
		errs = append(errs, cfg.Validate()...)
		if got := config.Errors(errs).Error(); !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.src, got, c.want)
		}
	}
}

// TestUnknownDevice: a proxy for a device that does not exist, or is no
// Modbus device, fails the start with the id named.
func TestUnknownDevice(t *testing.T) {
	src := `http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: "` + t.TempDir() + `"}
devices:
  - {id: meter, driver: modbus, url: "tcp://127.0.0.1:1", registers: [{name: p, address: 0, type: uint16}]}
modbus_proxy:
  - {listen: "127.0.0.1:0", device: metre}
`
	cfg, err := config.Parse([]byte(src), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Options{Version: "test", Profiles: profile.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	err = gw.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), `device "metre": no such device`) {
		t.Fatalf("start: %v", err)
	}
}
