package ocpp_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/internal/testenv"
)

func bootCP(t *testing.T, cp *nodeCP) {
	t.Helper()
	cp.wait("connected", func(m map[string]any) bool { return m["event"] == "open" })
	cp.call("BootNotification", map[string]any{"chargePointVendor": "ACME", "chargePointModel": "W"})
	cp.wait("GetConfiguration after boot", incoming("GetConfiguration"))
}

// TestOutgoingCalls sends every call gridbox makes to the strict ocpp-rpc
// client, which checks each against the official schema.
func TestOutgoingCalls(t *testing.T) {
	s, _, url := startServer(t, t.TempDir(), "pw")
	cp := startNodeCP(t, url, "CP-001", "pw")
	bootCP(t, cp)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	steps := []struct {
		action string
		call   func() error
	}{
		{"ClearChargingProfile", func() error { return s.ClearChargingProfile(ctx, "CP-001", 1001, 1) }},
		{"RemoteStartTransaction", func() error { return s.RemoteStart(ctx, "CP-001", "TAG9", 1) }},
		{"RemoteStopTransaction", func() error { return s.RemoteStop(ctx, "CP-001", 7) }},
		{"TriggerMessage", func() error { return s.TriggerMessage(ctx, "CP-001", "StatusNotification", 1) }},
		{"ChangeAvailability", func() error { return s.SetAvailable(ctx, "CP-001", 1, false) }},
		{"ChangeConfiguration", func() error { return s.ChangeConfiguration(ctx, "CP-001", "MeterValueSampleInterval", "10") }},
		{"Reset", func() error { return s.Reset(ctx, "CP-001", "Soft") }},
		{"UnlockConnector", func() error { return s.UnlockConnector(ctx, "CP-001", 1) }},
	}
	for _, st := range steps {
		if err := st.call(); err != nil {
			t.Errorf("%s: %v", st.action, err)
		}
		cp.wait(st.action+" at the charge point", incoming(st.action))
	}
	keys, err := s.GetConfiguration(ctx, "CP-001")
	if err != nil || len(keys) != 1 || keys[0].Key != "ChargingScheduleAllowedChargingRateUnit" {
		t.Errorf("GetConfiguration: %v %v", keys, err)
	}
	if err := s.Reset(ctx, "CP-404", "Hard"); err == nil {
		t.Error("a call to a charge point never seen succeeded")
	}
	if n := cp.count(func(m map[string]any) bool { return m["event"] == "badMessage" }); n > 0 {
		t.Errorf("the strict client saw %d bad messages", n)
	}
}

// TestPowerLimitAndResume: a charge point that takes limits in W gets
// amps × 230 V × 3; a charge point that reconnects (and a central system
// that restarts) resume its running transaction.
func TestPowerLimitAndResume(t *testing.T) {
	dir := t.TempDir()
	s, b, url := startServer(t, dir, "pw")
	cp := startNodeCP(t, url, "CP-001", "pw", "Power")
	bootCP(t, cp)
	cp.call("StatusNotification", map[string]any{"connectorId": 1, "errorCode": "NoError", "status": "Available"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	testenv.Eventually(t, deadline, "condition", func() bool { _, err := b.Write(ctx, "cp-001_1", "max_current", 16.0); return err == nil })
	p := cp.wait("SetChargingProfile", incoming("SetChargingProfile"))["params"].(map[string]any)
	prof := p["csChargingProfiles"].(map[string]any)
	sched := prof["chargingSchedule"].(map[string]any)
	if prof["chargingProfilePurpose"] != "TxDefaultProfile" || sched["chargingRateUnit"] != "W" ||
		sched["chargingSchedulePeriod"].([]any)[0].(map[string]any)["limit"] != 16.0*230*3 {
		t.Errorf("profile in W: %v", p)
	}
	start := cp.call("StartTransaction", map[string]any{"connectorId": 1, "idTag": "T", "meterStart": 500, "timestamp": time.Now().UTC().Format(time.RFC3339)})
	txID := start["transactionId"].(float64)
	cp.in.Close()
	testenv.Eventually(t, deadline, "condition", func() bool { d, _ := b.Device("cp-001_1"); return !d.Online })
	s.Wait()

	// The same charge point again, on a restarted central system.
	_, b2, url2 := startServer(t, dir, "pw")
	cp2 := startNodeCP(t, url2, "CP-001", "pw")
	cp2.wait("reconnected", func(m map[string]any) bool { return m["event"] == "open" })
	cp2.call("MeterValues", map[string]any{"connectorId": 1, "transactionId": txID, "meterValue": []any{map[string]any{
		"timestamp": time.Now().UTC().Format(time.RFC3339), "sampledValue": []any{map[string]any{"value": "1700", "unit": "Wh"}}}}})
	testenv.Eventually(t, deadline, "condition", func() bool { return value(b2, "cp-001_1", "session_energy") == 1200.0 })
	testenv.Eventually(t, deadline, "condition", func() bool { _, err := b2.Write(ctx, "cp-001_1", "max_current", 6.0); return err == nil })
	p = cp2.wait("SetChargingProfile after resume", incoming("SetChargingProfile"))["params"].(map[string]any)
	prof = p["csChargingProfiles"].(map[string]any)
	if prof["chargingProfilePurpose"] != "TxProfile" || prof["transactionId"] != txID {
		t.Errorf("profile after resume: %v", p)
	}
}

func value(b *bus.Bus, dev, name string) any {
	_, v, has, ok := b.Datapoint(dev, name)
	if !ok || !has {
		return nil
	}
	return v.Value
}
