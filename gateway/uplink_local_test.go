package gateway_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/gateway"
)

// TestUplinkLocalStateAndAggregates: with its remote unreachable, an
// uplink's queue is announced in the gateway's own <prefix>/$state on the
// embedded broker, and its rollups are published on
// <prefix>/$aggregated/<device>/<name> as windows close.
func TestUplinkLocalStateAndAggregates(t *testing.T) {
	room := startSim(t, "demo-room", "")
	dir := t.TempDir()
	gw, _ := startConfig(t, fmt.Sprintf(`site: test
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q, flush_interval: 100ms}
uplink:
  - {name: prod, broker: "mqtt5://%s", aggregate: 1s, batch_age: 100ms}
devices:
  - {id: room, driver: modbus, url: "tcp://%s", profile: demo-room, interval: 200ms, timeout: 300ms, retries: 0}
`, dir, freePort(t), room.Addr()), gateway.Options{})
	w := watch(t, "tcp://"+gw.MQTTAddr(), "gridbox/#")
	waitFor(t, 20*time.Second, "$state with the uplink's queue", func() bool {
		m, ok := w.get("gridbox/$state")
		return ok && strings.Contains(m.payload, `"uplink/prod":{`) && strings.Contains(m.payload, `"overflow":"drop-oldest"`)
	})
	waitFor(t, 20*time.Second, "$aggregated/room/temperature", func() bool {
		m, ok := w.get("gridbox/$aggregated/room/temperature")
		if !ok {
			return false
		}
		p := payloadOf(t, m.payload)
		ts, _ := p["timestamp"].(float64)
		return p["last"] != nil && p["window"] == "1s" && int64(ts)%1000 == 0
	})
	// Retained: a subscriber that comes later gets the state with the uplink's field.
	fresh := watch(t, "tcp://"+gw.MQTTAddr(), "gridbox/$state")
	waitFor(t, 10*time.Second, "retained $state for a new subscriber", func() bool {
		m, ok := fresh.get("gridbox/$state")
		return ok && fresh.wasRetained("gridbox/$state") && strings.Contains(m.payload, `"uplink/prod":{`)
	})
}
