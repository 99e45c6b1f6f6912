package gateway_test

import (
	"fmt"
	"testing"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/testdriver"
	"github.com/gridbox/gridbox/model"
)

// TestStoreCountsNoStateDrops: the store reads only values. Its subscription
// used to carry device states too, which nothing read: once 256 had queued,
// every state change was counted in gridbox_sink_values_dropped_total
// {sink="store"} although no value was lost (bench/soak saw 1700 in 18
// minutes of 100 devices).
func TestStoreCountsNoStateDrops(t *testing.T) {
	ctl := make(testdriver.Control)
	src := fmt.Sprintf(`http: {listen: "127.0.0.1:0", auth: none}
mqtt: []
store: {path: %q}
devices:
  - {id: hub, driver: test, datapoints: [{name: power}]}
`, t.TempDir())
	gw, _ := startConfig(t, src, gateway.Options{Drivers: []driver.Factory{testdriver.Factory(ctl)}})
	const changes = 600
	ctl <- func(out driver.Sink, _ driver.Catalog) {
		for i := range changes {
			st := model.DeviceState{Device: "hub", Online: i%2 == 0}
			if !st.Online {
				st.Error = "gone"
			}
			out.SetState(st, 1, 0)
		}
	}
	ctl <- func(driver.Sink, driver.Catalog) {} // the changes above are all offered once this is taken
	if n := metric(t, gw, `gridbox_sink_values_dropped_total{sink="store"}`); n != 0 {
		t.Errorf(`gridbox_sink_values_dropped_total{sink="store"} = %v after %d state changes, want 0`, n, changes)
	}
	if n := metric(t, gw, `gridbox_device_polls_total{device="hub"}`); n != changes {
		t.Errorf("gridbox_device_polls_total = %v, want %d (the bus took every state)", n, changes)
	}
}
