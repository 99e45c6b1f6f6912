package ocpp

import (
	"encoding/json"
	"testing"
)

func TestDecodeFrame(t *testing.T) {
	f, err := decodeFrame([]byte(`[2,"19223201","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]`))
	if err != nil || f.Type != msgCall || f.ID != "19223201" || f.Action != "BootNotification" {
		t.Fatalf("call: %+v %v", f, err)
	}
	f, err = decodeFrame([]byte(`[3,"x",{"status":"Accepted"}]`))
	if err != nil || f.Type != msgCallResult || string(f.Payload) != `{"status":"Accepted"}` {
		t.Fatalf("result: %+v %v", f, err)
	}
	f, err = decodeFrame([]byte(`[4,"x","NotSupported","no",{}]`))
	if err != nil || f.Type != msgCallError || f.Err.Code != NotSupported {
		t.Fatalf("error: %+v %v", f, err)
	}
	if _, err := decodeFrame([]byte(`[4,"x","NotSupported","no",[]]`)); err == nil {
		t.Fatal("CallError details must be an object")
	}
	b, e := encodeCall("1", "Reset", []byte(`{"type":"Soft"}`))
	if e != nil || string(b) != `[2,"1","Reset",{"type":"Soft"}]` {
		t.Fatalf("encode: %s %v", b, e)
	}
}

// FuzzDecodeFrame feeds arbitrary messages through the frame decoder, the
// schema validation and the payload decoding a handler does: nothing may
// panic, every refusal carries a code, and a valid call has an action.
func FuzzDecodeFrame(f *testing.F) {
	sch, err := loadSchemas()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`[2,"1","Heartbeat",{}]`,
		`[2,"1","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2024-01-01T00:00:00Z","sampledValue":[{"value":"1.5","unit":"kWh"}]}]}]`,
		`[3,"1",{}]`, `[4,"1","GenericError","",{}]`, `[]`, `nul`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, cerr := decodeFrame(b)
		if cerr != nil {
			if cerr.Code == "" || fr.ID == "" {
				t.Fatalf("refusal without code or id: %+v %+v", fr, cerr)
			}
			return
		}
		if fr.Type != msgCall {
			return
		}
		if fr.Action == "" {
			t.Fatal("call without action")
		}
		if !sch.known(fr.Action) {
			return
		}
		if verr := sch.validate(fr.Action, false, fr.Payload); verr != nil {
			if verr.Code == "" {
				t.Fatal("validation error without code")
			}
			return
		}
		if fr.Action == "MeterValues" {
			var req meterValuesReq
			if err := json.Unmarshal(fr.Payload, &req); err != nil {
				t.Fatalf("valid MeterValues does not decode: %v", err)
			}
			for _, mv := range req.MeterValue {
				for _, sv := range mv.SampledValue {
					mapSample(sv.Measurand, sv.Phase)
				}
			}
		}
	})
}
