package modbus

import (
	"context"
	"testing"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus/modbustest"
)

// TestPollTimestampsIncrease polls back to back, as the device does after
// a stall when its ticker has a tick pending: on loopback a poll takes well
// under a millisecond, yet each datapoint's values must have strictly
// increasing timestamps (the store keeps one value per datapoint and
// millisecond), and the stale mark of a failed poll must be later still.
func TestPollTimestampsIncrease(t *testing.T) {
	srv := startServer(t)
	srv.Unit(1).Set(modbustest.Holding, 0, 1, 2, 3)
	drv := New()
	defer drv.Close()
	regs := []Register{{Name: "a", Address: 0, Type: "uint16"}, {Name: "b", Address: 2, Type: "uint16"}}
	dev := newTestDevice(t, drv, testConfig("dev", srv.URL(), 1, regs), driver.Env{})
	sink := newSink()
	const polls = 50
	for range polls {
		dev.poll(context.Background(), sink)
	}
	last := map[string]int64{}
	n := 0
	for _, v := range sink.vals {
		if v.Time <= last[v.Name] {
			t.Errorf("%s: value at %d after one at %d", v.Name, v.Time, last[v.Name])
		}
		last[v.Name] = v.Time
		n++
	}
	if n != 2*polls {
		t.Fatalf("%d values, want %d", n, 2*polls)
	}
	_ = srv.Stop()
	dev.poll(context.Background(), sink)
	for name, at := range last {
		if v, _ := sink.value(name); v.Time <= at {
			t.Errorf("%s: stale mark at %d, not after the last value at %d", name, v.Time, at)
		}
	}
}
