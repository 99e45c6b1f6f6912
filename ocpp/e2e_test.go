package ocpp_test

import (
	"fmt"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/internal/testenv"
)

// TestOCPPRPCChargePoint drives gridbox with the independent ocpp-rpc client
// (strict mode: every message both ways is checked against the official
// schemas): boot, status, a transaction with meter values, max_current
// written through REST and MQTT, and the stored transaction.
func TestOCPPRPCChargePoint(t *testing.T) {
	testenv.Service(t, "mosquitto", "127.0.0.1:1883")
	ocppAddr := testenv.FreeAddr(t)
	prefix := uniquePrefix()
	gw := startGateway(t, fmt.Sprintf(`site: test
http: {listen: "127.0.0.1:0", auth: read-open, tokens: [tok]}
mqtt: {broker: "mqtt://127.0.0.1:1883", prefix: %s}
store: {path: %q}
ocpp:
  listen: %q
  charge_points: [{id: CP-001, password: "${CP1_PASSWORD}"}]
  data_dir: %q
`, prefix, t.TempDir(), ocppAddr, t.TempDir()), map[string]string{"CP1_PASSWORD": "s3cret-pass"})
	api := "http://" + gw.HTTPAddr() + "/api/v1"

	cp := startNodeCP(t, "ws://"+ocppAddr+"/ocpp", "CP-001", "s3cret-pass")
	cp.wait("connected", func(m map[string]any) bool { return m["event"] == "open" })
	boot := cp.call("BootNotification", map[string]any{"chargePointVendor": "ACME", "chargePointModel": "Wallbox 11", "firmwareVersion": "1.2.3", "chargePointSerialNumber": "SN42"})
	if boot["status"] != "Accepted" {
		t.Fatalf("BootNotification: %v", boot)
	}
	cp.wait("GetConfiguration after boot", incoming("GetConfiguration"))
	cp.call("StatusNotification", map[string]any{"connectorId": 0, "errorCode": "NoError", "status": "Available"})
	cp.call("StatusNotification", map[string]any{"connectorId": 1, "errorCode": "NoError", "status": "Preparing"})
	if a := cp.call("Authorize", map[string]any{"idTag": "TAG1"}); a["idTagInfo"].(map[string]any)["status"] != "Accepted" {
		t.Fatalf("Authorize: %v", a)
	}
	start := cp.call("StartTransaction", map[string]any{"connectorId": 1, "idTag": "TAG1", "meterStart": 1000, "timestamp": time.Now().UTC().Format(time.RFC3339)})
	txID := start["transactionId"].(float64)
	cp.call("MeterValues", map[string]any{"connectorId": 1, "transactionId": txID, "meterValue": []any{map[string]any{
		"timestamp": time.Now().UTC().Format(time.RFC3339),
		"sampledValue": []any{
			map[string]any{"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW", "context": "Sample.Periodic", "location": "Outlet"},
			map[string]any{"value": "2.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh", "context": "Sample.Periodic"},
			map[string]any{"value": "10.5", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
			map[string]any{"value": "10.4", "measurand": "Current.Import", "phase": "L2", "unit": "A"},
			map[string]any{"value": "10.3", "measurand": "Current.Import", "phase": "L3", "unit": "A"},
			map[string]any{"value": "231", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
			map[string]any{"value": "55", "measurand": "SoC", "unit": "Percent", "location": "EV"},
			map[string]any{"value": "not-a-number", "measurand": "Temperature", "unit": "Celsius", "location": "Body"},
		},
	}}})

	var dp map[string]any
	testenv.Eventually(t, deadline, "cp-001_1/ac_power = 7200 W", func() bool {
		getJSON(t, api+"/datapoints/cp-001_1/ac_power", &dp)
		v, _ := dp["value"].(map[string]any)
		return v != nil && v["value"] == 7200.0
	})
	if dp["role"] != "ev_power" || dp["unit"] != "W" {
		t.Errorf("ac_power meta: %v", dp)
	}
	for name, want := range map[string]float64{"energy_total": 2500, "session_energy": 1500, "current_l3": 10.3, "voltage_l1": 231, "soc": 55, "transaction_id": txID} {
		var p map[string]any
		getJSON(t, api+"/datapoints/cp-001_1/"+name, &p)
		if v, _ := p["value"].(map[string]any); v == nil || v["value"] != want {
			t.Errorf("%s = %v, want %v", name, p["value"], want)
		}
	}
	var vendor map[string]any
	getJSON(t, api+"/datapoints/cp-001/vendor", &vendor)
	if v, _ := vendor["value"].(map[string]any); v == nil || v["value"] != "ACME" {
		t.Errorf("cp-001/vendor: %v", vendor)
	}

	// max_current through REST …
	req, _ := newAuthPut(api+"/datapoints/cp-001_1/max_current/value", `{"value": 10}`, "tok")
	if code, body := do(t, req); code != 200 {
		t.Fatalf("PUT max_current: %d %s", code, body)
	}
	checkProfile(t, cp.wait("SetChargingProfile after REST", incoming("SetChargingProfile")), txID)

	// … and through MQTT.
	mc := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://127.0.0.1:1883").SetClientID(prefix + "-pub"))
	if tok := mc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	defer mc.Disconnect(100)
	testenv.Eventually(t, deadline, "a second SetChargingProfile after an MQTT write", func() bool {
		if cp.count(incoming("SetChargingProfile")) >= 2 {
			return true
		}
		mc.Publish(prefix+"/cp-001_1/max_current/set", 1, false, "10").WaitTimeout(5 * time.Second)
		time.Sleep(500 * time.Millisecond)
		return cp.count(incoming("SetChargingProfile")) >= 2
	})

	for _, m := range cp.all(incoming("SetChargingProfile")) {
		checkProfile(t, m, txID)
	}
	cp.call("StopTransaction", map[string]any{"transactionId": txID, "meterStop": 3200, "timestamp": time.Now().UTC().Format(time.RFC3339), "reason": "EVDisconnected", "idTag": "TAG1"})
	var list struct {
		Transactions []map[string]any `json:"transactions"`
	}
	if code := getJSON(t, api+"/ocpp/transactions?charge_point=CP-001", &list); code != 200 || len(list.Transactions) != 1 {
		t.Fatalf("transactions: %d %v", code, list)
	}
	tx := list.Transactions[0]
	if tx["energy"] != 2200.0 || tx["stop_reason"] != "EVDisconnected" || tx["id_tag"] != "TAG1" || tx["transaction_id"] != txID {
		t.Errorf("transaction: %v", tx)
	}

	cp.in.Close() // the charge point goes away: its devices stay, offline
	testenv.Eventually(t, deadline, "cp-001 offline", func() bool {
		var devs []map[string]any
		getJSON(t, api+"/devices", &devs)
		for _, d := range devs {
			if d["id"] == "cp-001" {
				return d["online"] == false
			}
		}
		return false
	})
	if n := cp.count(func(m map[string]any) bool { return m["event"] == "badMessage" }); n > 0 {
		t.Errorf("the strict client saw %d bad messages", n)
	}
}

// checkProfile checks a SetChargingProfile of 10 A for the transaction.
func checkProfile(t *testing.T, m map[string]any, txID float64) {
	t.Helper()
	p := m["params"].(map[string]any)
	prof := p["csChargingProfiles"].(map[string]any)
	sched := prof["chargingSchedule"].(map[string]any)
	period := sched["chargingSchedulePeriod"].([]any)[0].(map[string]any)
	if p["connectorId"] != 1.0 || prof["chargingProfilePurpose"] != "TxProfile" || prof["transactionId"] != txID ||
		sched["chargingRateUnit"] != "A" || period["limit"] != 10.0 {
		t.Errorf("SetChargingProfile: %v", p)
	}
}
