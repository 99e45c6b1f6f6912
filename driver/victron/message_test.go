package victron

import (
	"testing"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
)

func newUnit(t testing.TB, maxPoints int) (*Device, *bus.Bus) {
	t.Helper()
	b := bus.New()
	c := NewConfig()
	c.ID, c.Driver, c.Broker, c.PortalID, c.MaxPoints = "gx", "victron", "mqtt://127.0.0.1", "p1", maxPoints
	dev, err := NewDevice(c, driver.Env{Catalog: b})
	if err != nil {
		t.Fatal(err)
	}
	d := dev.(*Device)
	if err := b.AddDevice(model.DeviceState{Device: "gx"}, d.Datapoints(), d, 0); err != nil {
		t.Fatal(err)
	}
	d.sink = b
	return d, b
}

// TestMessageRules: other portals and other prefixes are ignored, lists
// are skipped, max_points bounds the run-time datapoints, a null before
// the first value makes no datapoint.
func TestMessageRules(t *testing.T) {
	d, b := newUnit(t, 2)
	d.message("N/other/grid/30/Ac/Power", []byte(`{"value": 1}`))
	d.message("W/p1/grid/30/Ac/Power", []byte(`{"value": 1}`))
	d.message("N/p1/system/0/Batteries", []byte(`{"value": [{"id": 1}]}`))
	d.message("N/p1/system/0/Relay/0/State", []byte(`{"value": null}`))
	if n := len(b.Devices()); n != 1 {
		t.Fatalf("%d devices, want only gx: %v", n, b.Devices())
	}
	d.message("N/p1/grid/30/Ac/Power", []byte(`{"value": 1, "min": 0, "max": 10}`))
	d.message("N/p1/grid/30/Ac/L1/Power", []byte(`{"value": 2}`))
	d.message("N/p1/grid/30/Ac/L2/Power", []byte(`{"value": 3}`))
	if _, _, _, ok := b.Datapoint("gx-grid-30", "ac_l2_power"); ok {
		t.Error("max_points not applied")
	}
	if _, v, _, _ := b.Datapoint("gx-grid-30", "ac_l1_power"); v.Value != 2.0 {
		t.Errorf("ac_l1_power %+v", v)
	}
	d.message("N/p1/grid/x/Ac/Power", []byte(`{"value": 1}`))
	if d.bad.Total() != 1 {
		t.Errorf("bad topic counted %d times", d.bad.Total())
	}
	d.message("N/p1/grid/30/Ac/Power", make([]byte, maxPayload+1))
	if d.bad.Total() != 2 {
		t.Errorf("oversized payload counted %d", d.bad.Total())
	}
}

// BenchmarkMessage: one N message of a known path into a bus value.
func BenchmarkMessage(b *testing.B) {
	d, _ := newUnit(b, DefaultMaxPoints)
	payload := []byte(`{"value": 936.5}`)
	d.message("N/p1/pvinverter/20/Ac/Power", payload)
	b.ReportAllocs()
	for b.Loop() {
		d.message("N/p1/pvinverter/20/Ac/Power", payload)
	}
}
