package sunspec_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sim"
)

// TestSunSpecIntValues: the integer simulator's chain is split into the
// inverter (with prefixed storage and MPPT points) and the meter behind it;
// scale factors apply, sentinels are null and the roles are set.
func TestSunSpecIntValues(t *testing.T) {
	s := startSim(t, "sunspec-int")
	rec := newRecorder()
	dev := runDevice(t, testConfig("inv", s.Addr()), rec)
	want := map[string]any{
		"inv/ac_power":           4200.0,
		"inv/current":            18.3,
		"inv/voltage_l1":         230.1,
		"inv/frequency":          50.0,
		"inv/reactive_power":     nil, // int16 0x8000
		"inv/dc_current":         nil, // uint16 0xFFFF
		"inv/energy_total":       12345678.0,
		"inv/temperature":        45.2,
		"inv/serial_number":      "INT0001",
		"inv/manufacturer":       "gridbox",
		"inv/model":              "SIM-INT-10",
		"inv/battery_soc":        65.5,
		"inv/mppt1_dc_power":     2200.0,
		"inv/mppt2_dc_voltage":   398.0,
		"inv/mppt1_name":         nil,
		"inv/w_max_lim_pct":      100.0,
		"inv_2/ac_power":         -1500.0,
		"inv_2/voltage_l1":       230.5,
		"inv_2/energy_import":    2000000.0,
		"inv_2/serial_number":    "MTR0001",
		"inv_2/power_factor":     nil,
		"inv_2/energy_export":    3000000.0,
		"inv_2/voltage_l1_l2":    nil,
		"inv_2/frequency":        50.01,
		"inv/battery_max_charge": nil,
	}
	delete(want, "inv/mppt1_name")
	delete(want, "inv/battery_max_charge")
	for key, w := range want {
		v := waitValue(t, rec, key)
		if v.Value != w || v.Quality != model.Good {
			t.Errorf("%s = %v (%s), want %v", key, v.Value, v.Quality, w)
		}
	}
	roles := map[string]string{"inv/ac_power": "pv_power", "inv_2/ac_power": "grid_power", "inv/battery_soc": "battery_soc"}
	for key, r := range roles {
		if p, ok := rec.point(key); !ok || p.Role != r {
			t.Errorf("%s: role %q (registered %v), want %s", key, p.Role, ok, r)
		}
	}
	if p, _ := rec.point("inv/w_max_lim_pct"); p.Kind != model.Actuator || *p.Max != 100 || p.Unit != "%" {
		t.Errorf("w_max_lim_pct meta %+v", p.Meta)
	}
	if got := dev.ReadsPerPoll(); got != 3 {
		t.Errorf("reads per poll = %d, want 3", got)
	}
	if st := rec.state("inv_2"); !st.Online {
		t.Errorf("inv_2 state %+v", st)
	}
}

// TestRediscoveryAfterReconnect: the device at the address is replaced by
// one with another chain (as after a firmware update and restart); the
// driver notices at the reconnect, rediscovers and updates its datapoints.
func TestRediscoveryAfterReconnect(t *testing.T) {
	s := startSim(t, "sunspec-float")
	addr := s.Addr()
	rec := newRecorder()
	runDevice(t, testConfig("inv", addr), rec)
	waitValue(t, rec, "inv/pv_conn")
	if v := waitValue(t, rec, "inv_2/model"); v.Value != "Smart Meter TS 65A-3" {
		t.Fatalf("meter model %v", v.Value)
	}
	s.Close()
	testenv.Eventually(t, 10*time.Second, "offline state", func() bool { return !rec.state("inv").Online })
	s2, err := sim.Start(context.Background(), "sunspec-int", addr, 0, nil)
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	t.Cleanup(func() { s2.Close() })
	testenv.Eventually(t, 10*time.Second, "the integer meter's model", func() bool {
		v, _ := rec.value("inv_2/model")
		return v.Value == "SIM-METER"
	})
	if _, ok := rec.point("inv/pv_conn"); ok {
		t.Error("inv/pv_conn (model 122 of the old chain) is still registered")
	}
	if _, ok := rec.point("inv/battery_in_bat_v"); !ok {
		t.Error("inv/battery_in_bat_v is not registered")
	}
	testenv.Eventually(t, 10*time.Second, "ac_power of the new chain", func() bool {
		v, _ := rec.value("inv/ac_power")
		return v.Value == 4200.0
	})
	if st := rec.state("inv"); !st.Online || st.Error != "" {
		t.Errorf("state after rediscovery %+v", st)
	}
}

// TestUnreachableDeviceIsOffline: no device at the URL → offline with the
// discovery error in the state, and Run keeps trying until stopped.
func TestUnreachableDeviceIsOffline(t *testing.T) {
	rec := newRecorder()
	runDevice(t, testConfig("gone", testenv.FreeAddr(t)), rec)
	testenv.Eventually(t, 10*time.Second, "offline state", func() bool {
		st := rec.state("gone")
		return !st.Online && strings.Contains(st.Error, "discovery: unit 1")
	})
}

// TestNoMarker: a Modbus device without SunSpec (the SMA simulator at unit 3) is an error naming the addresses tried.
func TestNoMarker(t *testing.T) {
	s := startSim(t, "sma-stp")
	rec := newRecorder()
	cfg := testConfig("sma", s.Addr())
	three := 3
	cfg.Unit = &three
	runDevice(t, cfg, rec)
	testenv.Eventually(t, 10*time.Second, "no-marker error", func() bool {
		return strings.Contains(rec.state("sma").Error, "no SunSpec marker at 40000")
	})
}

// TestMissingUnitIsSkipped: with units [1, 7] and nothing at unit 7 (the
// simulator answers exception 0x0B), unit 1 is read and the state names
// the skipped unit.
func TestMissingUnitIsSkipped(t *testing.T) {
	s := startSim(t, "sunspec-int")
	rec := newRecorder()
	cfg := testConfig("inv", s.Addr())
	cfg.Units = []int{1, 7}
	runDevice(t, cfg, rec)
	if v := waitValue(t, rec, "inv_2/ac_power"); v.Value != -1500.0 {
		t.Fatalf("meter %v", v.Value)
	}
	testenv.Eventually(t, 10*time.Second, "skipped unit in the state", func() bool {
		st := rec.state("inv")
		return st.Online && strings.Contains(st.Error, "unit 7 skipped")
	})
}
