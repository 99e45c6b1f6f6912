package ocpp

import (
	"testing"
)

func TestSampled(t *testing.T) {
	s, _, _ := testServer(t, nil)
	cp := s.chargePoint("CP-001")
	sv := func(value, measurand, phase, unit string) sampledValue {
		return sampledValue{Value: value, Measurand: measurand, Phase: phase, Unit: unit}
	}
	mvs := []meterValue{{Timestamp: "2026-05-01T12:00:00Z", SampledValue: []sampledValue{
		sv("1.5", "Power.Active.Import", "L1", "kW"),
		sv("1.5", "Power.Active.Import", "L2", "kW"),
		sv("1000", "Power.Active.Import", "L3", "W"),
		sv("12.5", "", "", "kWh"), // default measurand
		sv("400", "Voltage", "L1-L2", "V"),
		sv("230", "Voltage", "L2-N", "V"),
		sv("16", "Current.Import", "", "A"),
		sv("80", "SoC", "", "Percent"),
		sv("21", "Temperature", "", "Celsius"),
		{Value: "AB12", Format: "SignedData"},
		sv("n/a", "Current.Import", "L3", "A"),
	}}}
	got := map[string]any{}
	for _, v := range s.sampled(cp, 1, mvs) {
		if v.Device != "cp-001_1" || v.Time != 1777636800000 {
			t.Errorf("value %+v", v)
		}
		got[v.Name] = v.Value
	}
	want := map[string]any{"ac_power": 4000.0, "energy_total": 12500.0, "voltage_l2": 230.0, "current_l1": 16.0, "soc": 80.0}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if n := testCount(s.m.badValues); n != 2 {
		t.Errorf("bad values counted: %v, want 2", n)
	}
}
