package dialect_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/sim"
)

// TestGatewayRunsBothDialects: the `dialects:` section of a gateway config
// reaches the embedded broker through the mqtt sink, with a simulated SMA
// inverter over Modbus TCP.
func TestGatewayRunsBothDialects(t *testing.T) {
	s, err := sim.Start(context.Background(), "sma-stp", "127.0.0.1:0", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := fmt.Sprintf("gx%d", time.Now().UnixNano())
	src := fmt.Sprintf(`site: t
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {listen: "127.0.0.1:0"}
store: {path: %[3]q}
dialects:
  homeassistant: {prefix: ha-%[1]s}
  victron: {portal_id: %[1]s}
devices:
  - {id: pv, driver: modbus, url: "tcp://%[2]s", profile: sma-stp, interval: 500ms}
`, id, s.Addr(), t.TempDir())
	cfg, err := config.Parse([]byte(src), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Options{Version: "test", Profiles: profile.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := gw.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := gw.Wait(); err != nil {
			t.Errorf("gateway stopped with: %v", err)
		}
	}()
	sub := mqttcli.Subscribe(t, gw.MQTTAddr(), nil, "ha-"+id+"/#", "N/"+id+"/#")
	testenv.Eventually(t, 30*time.Second, "the PV power discovery config and the Victron serial", func() bool {
		_, ha := sub.Last("ha-" + id + "/sensor/pv/ac_power/config")
		_, vic := sub.Last("N/" + id + "/system/0/Serial")
		return ha && vic
	})
	testenv.Eventually(t, 30*time.Second, "pvinverter/20/Ac/Power after a keep-alive", func() bool {
		if err := mqttcli.Publish(t, gw.MQTTAddr(), "R/"+id+"/keepalive", ""); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		m, ok := sub.Last("N/" + id + "/pvinverter/20/Ac/Power")
		return ok && m.Payload != `{"value":null}`
	})
}
