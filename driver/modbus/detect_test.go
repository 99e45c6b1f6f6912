package modbus

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus/modbustest"
	"github.com/gridbox/gridbox/model"
	"github.com/simonvetter/modbus"
)

const detectProfile = `
name: inv
driver: modbus
description: inverter
sign: production positive
unit: 1
timeout: 3s
connect_delay: 10ms
registers:
  - {name: ac_power, address: 10, type: int32, unit: W}
detect:
  - name: meter
    probe: {address: 100, type: uint16}
    present: [1]
    registers:
      - {name: meter_power, address: 113, type: int32, scale: -1, unit: W, role: grid_power}
  - name: battery
    probe: {address: 200, type: uint16}
    absent: [0]
    registers:
      - {name: battery_soc, address: 210, type: uint16, scale: 0.1, unit: "%"}
`

// fakeCatalog records AddDatapoints calls.
type fakeCatalog struct {
	mu    sync.Mutex
	added []string
}

func (c *fakeCatalog) AddDevice(model.DeviceState, []model.Datapoint, driver.Writer, int64) error {
	return nil
}

func (c *fakeCatalog) AddDatapoints(device string, points ...model.Datapoint) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range points {
		c.added = append(c.added, device+"/"+p.Name)
	}
	return nil
}
func (c *fakeCatalog) RemoveDatapoints(string, ...string) error { return nil }
func (c *fakeCatalog) RemoveDevice(string) error                { return nil }

func (c *fakeCatalog) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.added)
}

// TestDetectComponents: a component's datapoints appear (catalog first,
// then values) only once its probe says it is attached; a probe answered
// with an exception means "not attached".
func TestDetectComponents(t *testing.T) {
	srv := startServer(t)
	im := srv.Unit(1)
	im.Set(modbustest.Holding, 10, 0, 5000)
	im.Set(modbustest.Holding, 113, 0, 1500)
	im.Set(modbustest.Holding, 210, 553)
	im.Fail(modbustest.Holding, 200) // no battery registers at all
	cfg := testConfig("inv", srv.URL(), 1, nil)
	cfg.Profile = "inv"
	cat := &fakeCatalog{}
	drv := New()
	t.Cleanup(func() { _ = drv.Close() })
	dev := newTestDevice(t, drv, cfg, driver.Env{Profiles: mapSource{"inv": detectProfile}, Catalog: cat})
	if dev.cfg.Timeout.D() != 500*time.Millisecond || dev.cfg.ConnectDelay.D() != 10*time.Millisecond {
		t.Fatalf("quirks: timeout %v (set by the device), connect_delay %v (from the profile)", dev.cfg.Timeout.D(), dev.cfg.ConnectDelay.D())
	}
	sink := newSink()
	runDevice(t, dev, sink)
	waitFor(t, "three polls", func() bool { return sink.pollCount() >= 3 })
	if names := cat.names(); len(names) != 0 || len(dev.Datapoints()) != 1 {
		t.Fatalf("nothing attached, yet added %v, datapoints %v", names, dev.Datapoints())
	}
	im.Set(modbustest.Holding, 100, 1) // the meter shows up
	waitFor(t, "meter_power", func() bool { v, ok := sink.value("meter_power"); return ok && v.Value == -1500.0 })
	if names := cat.names(); !slices.Equal(names, []string{"inv/meter_power"}) {
		t.Fatalf("catalog got %v", names)
	}
	polls := sink.pollCount()
	waitFor(t, "three more polls", func() bool { return sink.pollCount() >= polls+3 })
	if _, ok := sink.value("battery_soc"); ok || len(dev.Datapoints()) != 2 {
		t.Fatalf("battery probe answers an exception, yet datapoints %v", dev.Datapoints())
	}
	if st := sink.state(); !st.Online || st.Error != "" {
		t.Fatalf("a missing component is no device error: %+v", st)
	}
}

// TestDetectBattery: a probe with absent values: any other value attaches.
func TestDetectBattery(t *testing.T) {
	srv := startServer(t)
	im := srv.Unit(1)
	im.Set(modbustest.Holding, 210, 553)
	cfg := testConfig("inv", srv.URL(), 1, nil)
	cfg.Profile = "inv"
	cat := &fakeCatalog{}
	drv := New()
	t.Cleanup(func() { _ = drv.Close() })
	dev := newTestDevice(t, drv, cfg, driver.Env{Profiles: mapSource{"inv": detectProfile}, Catalog: cat})
	sink := newSink()
	runDevice(t, dev, sink)
	waitFor(t, "two polls", func() bool { return sink.pollCount() >= 2 })
	im.Set(modbustest.Holding, 200, 2)
	waitFor(t, "battery_soc", func() bool { v, ok := sink.value("battery_soc"); return ok && v.Value == 55.3 })
	if names := cat.names(); !slices.Equal(names, []string{"inv/battery_soc"}) {
		t.Fatalf("catalog got %v", names)
	}
}

func TestDetectProfileErrors(t *testing.T) {
	head := "name: x\ndriver: modbus\nregisters:\n  - {name: a, address: 1, type: int16}\ndetect:\n"
	for _, c := range []struct{ src, want string }{
		{"  - {name: m, probe: {address: 1, type: uint16}, registers: [{name: b, address: 2, type: int16}]}", "detect[0].present: give either present or absent"},
		{"  - {name: m, probe: {address: 1, type: uint16}, present: [1], absent: [0], registers: [{name: b, address: 2, type: int16}]}", "give either present or absent"},
		{"  - {name: m, probe: {address: 1, type: uint16}, present: [1], registers: [{name: a, address: 2, type: int16}]}", "detect[0].registers[0].name: duplicate name \"a\" (also in registers)"},
		{"  - {name: M!, probe: {address: 1, type: uint16}, present: [1], registers: [{name: b, address: 2, type: int16}]}", "detect[0].name"},
		{"  - {name: m, probe: {address: 1, type: float}, present: [1], registers: [{name: b, address: 2, type: int16}]}", "p.yaml:6: detect[0].probe.type"},
		{"  - {name: m, probe: {address: 1, type: uint16}, present: [1], registers: []}", "has no registers"},
		{"  - {name: m, probe: {address: 1, type: uint16}, present: [1], registerz: []}", "registerz"},
	} {
		_, err := ParseProfile([]byte(head+c.src+"\n"), "p.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\nerror %v\nwant %q", c.src, err, c.want)
		}
	}
}

// TestBusyIsRetried: "server busy" (exception 6) is retried like an I/O
// error, not taken as a fault of the register map.
func TestBusyIsRetried(t *testing.T) {
	srv := startServer(t)
	im := srv.Unit(1)
	im.Set(modbustest.Holding, 10, 0, 5000)
	cfg := testConfig("inv", srv.URL(), 1, []Register{{Name: "p", Address: 10, Type: "int32"}})
	cfg.Retries = 2
	drv := New()
	t.Cleanup(func() { _ = drv.Close() })
	dev := newTestDevice(t, drv, cfg, driver.Env{})
	im.Busy(2)
	sink := newSink()
	vals, ferr, err := dev.readAll(context.Background())
	if err != nil || ferr != nil || len(vals) != 1 || vals[0].Value != 5000.0 {
		t.Fatalf("readAll = %v, %v, %v", vals, ferr, err)
	}
	im.Busy(5) // more than the retries: the poll fails, the device is offline
	dev.poll(context.Background(), sink)
	if st := sink.state(); st.Online || !strings.Contains(st.Error, "busy") {
		t.Fatalf("state %+v", st)
	}
}

// TestConnectGate: the first request on a fresh connection waits the
// connect delay (here: an hour, so the request gives up when its context
// ends); later ones do not; an I/O error makes the connection fresh again,
// an exception does not.
func TestConnectGate(t *testing.T) {
	g := &connectGate{fresh: true, delay: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	fn := func(*modbus.ModbusClient) error { called = true; return nil }
	if err := g.wrap(ctx, fn)(nil); !errors.Is(err, context.Canceled) || called {
		t.Fatalf("fresh: err %v, called %v; want to wait the delay", err, called)
	}
	g.fresh = false
	if err := g.wrap(ctx, fn)(nil); err != nil || !called {
		t.Fatalf("open: err %v, called %v", err, called)
	}
	g.after(modbus.ErrIllegalDataAddress)
	if g.fresh {
		t.Fatal("an exception made the connection fresh")
	}
	g.after(io.ErrUnexpectedEOF)
	if !g.fresh {
		t.Fatal("an I/O error did not make the connection fresh")
	}
	var none *connectGate
	if err := none.wrap(ctx, fn)(nil); err != nil {
		t.Fatal(err)
	}
}

// TestQuirkKeys: connect_delay is checked like pause; the profile's quirks
// fill in what the device leaves at its defaults.
func TestQuirkKeys(t *testing.T) {
	c := testConfig("d", "tcp://127.0.0.1:1", 1, []Register{{Name: "a", Address: 1, Type: "int16"}})
	c.ConnectDelay = -1
	errs := c.Validate()
	if len(errs) != 1 || errs[0].Path != "connect_delay" {
		t.Fatalf("errors %v", errs)
	}
	p, err := ParseProfile([]byte(detectProfile), "inv.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := NewConfig()
	eff := d.withQuirks(p)
	if eff.Timeout.D() != 3*time.Second || eff.ConnectDelay.D() != 10*time.Millisecond || eff.Pause != 0 || d.Timeout.D() != DefaultTimeout {
		t.Fatalf("effective %+v (device %+v)", eff, d)
	}
	if _, err := ParseProfile([]byte("name: x\ndriver: modbus\npause: -1s\nregisters: [{name: a, address: 1, type: int16}]\n"), "x.yaml"); err == nil || !strings.Contains(err.Error(), "x.yaml:3: pause") {
		t.Fatalf("negative pause: %v", err)
	}
}
