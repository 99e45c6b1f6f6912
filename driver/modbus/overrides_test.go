package modbus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus/modbustest"
	"github.com/gridbox/gridbox/model"
)

const limitProfile = `name: inv
driver: modbus
registers:
  - {name: power, table: input, address: 1, type: uint16}
  - {name: limit, address: 10, type: uint16, scale: 10, kind: actuator, max: 10000}
  - {name: guarded, address: 11, type: uint16, kind: actuator, protect: lower, watchdog: {every: 30s}}
`

// TestOverrides: protect and watchdog given in a profile register or
// under the device's overrides: reach the datapoints; mistakes are config
// errors at their key.
func TestOverrides(t *testing.T) {
	src := mapSource{"inv": limitProfile}
	cfg, errs := decodeConfig(t, `{id: inv, driver: modbus, url: "tcp://127.0.0.1:1502", profile: inv,
  overrides: {limit: {protect: true, watchdog: {every: 60s, fallback: 0, source_timeout: 5m}}}}`)
	if len(errs) > 0 {
		t.Fatal(config.Errors(errs))
	}
	drv := New()
	defer drv.Close()
	dev, err := drv.Factory().New(cfg, driver.Env{Profiles: src})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]model.Datapoint{}
	for _, p := range dev.Datapoints() {
		byName[p.Name] = p
	}
	lim, g := byName["limit"], byName["guarded"]
	if lim.Protect != model.ProtectUpper || lim.Watchdog == nil || lim.Watchdog.Every.D() != time.Minute ||
		lim.Watchdog.SourceTimeout.D() != 5*time.Minute || lim.Watchdog.Fallback != 0 {
		t.Errorf("limit: %+v %+v", lim.Meta, lim.Watchdog)
	}
	if g.Protect != model.ProtectLower || g.Watchdog == nil || byName["power"].Protect != "" {
		t.Errorf("profile keys: guarded %+v, power %+v", g.Meta, byName["power"].Meta)
	}

	for _, c := range []struct{ over, want string }{
		{"{nope: {protect: true}}", `overrides.nope: no datapoint "nope"`},
		{"{power: {protect: true}}", "overrides.power.protect: protect is for numeric actuators"},
		{"{limit: {watchdog: {every: 0s}}}", "overrides.limit.watchdog: watchdog.every 0s: must be positive"},
		{"{limit: {watchdog: {every: 1s, fallback: 20000}}}", "overrides.limit.watchdog: watchdog.fallback 20000: above max 10000"},
		{"{limit: {watchdog: {every: 1s, source_timeout: 1m}}}", "needs a fallback"},
	} {
		cfg, errs := decodeConfig(t, `{id: inv, driver: modbus, url: "tcp://127.0.0.1:1502", profile: inv, overrides: `+c.over+`}`)
		if len(errs) > 0 {
			t.Fatal(config.Errors(errs))
		}
		_, err := drv.Factory().New(cfg, driver.Env{Profiles: src})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.over, err, c.want)
		}
	}
	for _, c := range []struct{ over, want string }{
		{"{limit: {protect: maybe}}", `protect "maybe": want true, false, upper or lower`},
		{"{limit: {watchdog: {every: 1s, evry: 2s}}}", "evry"},
		{"{limit: {protekt: true}}", "protekt"},
	} {
		if _, errs := decodeConfig(t, `{id: inv, driver: modbus, url: "tcp://127.0.0.1:1502", profile: inv, overrides: `+c.over+`}`); len(errs) == 0 || !strings.Contains(config.Errors(errs).Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.over, config.Errors(errs), c.want)
		}
	}
}

// TestReadForProtect: Read reads the register now (scaled like a poll),
// and through the bus a protected limit is never raised above what the
// device holds.
func TestReadForProtect(t *testing.T) {
	srv := startServer(t)
	im := srv.Unit(1)
	im.Set(modbustest.Holding, 10, 500) // 5000 W, set by the installer
	drv := New()
	defer drv.Close()
	regs := []Register{{Name: "limit", Address: 10, Type: "uint16", Scale: 10, Meta: model.Meta{Kind: "actuator", Protect: model.ProtectUpper}}}
	cfg := testConfig("inv", srv.URL(), 1, regs)
	dev := newTestDevice(t, drv, cfg, driver.Env{})
	if v, err := dev.Read(context.Background(), "limit"); err != nil || v != 5000.0 {
		t.Fatalf("Read: %v, %v", v, err)
	}
	b := bus.New()
	if err := b.AddDevice(model.DeviceState{Device: "inv"}, dev.Datapoints(), dev, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(context.Background(), "inv", "limit", 6000.0); err == nil || !strings.Contains(err.Error(), "above the installer's value 5000") {
		t.Fatalf("loosening write: %v", err)
	}
	if got := im.Get(modbustest.Holding, 10, 1)[0]; got != 500 {
		t.Fatalf("register holds %d after a refused write", got)
	}
	if _, err := b.Write(context.Background(), "inv", "limit", 4000.0); err != nil {
		t.Fatal(err)
	}
	if got := im.Get(modbustest.Holding, 10, 1)[0]; got != 400 {
		t.Fatalf("register holds %d, want 400", got)
	}
}
