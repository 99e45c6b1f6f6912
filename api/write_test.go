package api

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const setpointURL = "/api/v1/datapoints/room/setpoint/value"

func TestWriteApplied(t *testing.T) {
	tests := []struct {
		path, body string
		want       any
	}{
		{setpointURL, `{"value": 22.5}`, 22.5},
		{setpointURL, `{"value": 30}`, 30.0},
		{setpointURL, "{\"value\": 5}\n", 5.0},    // trailing white space is not data
		{setpointURL, `{"\u0076alue": 24}`, 24.0}, // the key is "value" once decoded
		{"/api/v1/datapoints/room/mode/value", `{"value": "auto"}`, "auto"},
		{"/api/v1/datapoints/room/enabled/value", `{"value": false}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			e := newEnv(t, Options{})
			before := time.Now().UnixMilli()
			w := e.do(t, "PUT", tt.path, tt.body, "")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var res WriteResult
			decode(t, w, &res)
			if !res.OK || res.Value != tt.want || res.Timestamp < before {
				t.Errorf("answer %+v, want ok with value %v", res, tt.want)
			}
			if e.room.count() != 1 {
				t.Errorf("writer called %d times, want 1", e.room.count())
			}
		})
	}
}

func TestWriteRejected(t *testing.T) {
	tests := []struct {
		name, path, body string
		status           int
		field, sub       string
	}{
		{"above max", setpointURL, `{"value": 31}`, 422, "value", "above max 30"},
		{"below min", setpointURL, `{"value": 4.9}`, 422, "value", "below min 5"},
		{"not allowed", "/api/v1/datapoints/room/mode/value", `{"value": "turbo"}`, 422, "value", "not in allowed values"},
		{"sensor", "/api/v1/datapoints/room/temperature/value", `{"value": 20}`, 409, "value", "not writable"},
		{"unknown", "/api/v1/datapoints/room/foo/value", `{"value": 20}`, 404, "", "unknown datapoint room/foo"},
		{"wrong type", setpointURL, `{"value": "hot"}`, 400, "value", "want a number, got a string"},
		{"null", setpointURL, `{"value": null}`, 400, "value", "want a number, got null"},
		{"object value", setpointURL, `{"value": {"x": 1}}`, 400, "value", "got an object"},
		{"missing value", setpointURL, `{}`, 400, "value", `no "value" key`},
		{"unknown key", setpointURL, `{"value": 20, "force": true}`, 400, "body", `unknown key "force"`},
		{"trailing data", setpointURL, `{"value": 20} {"value": 21}`, 400, "body", "data after the JSON object"},
		{"trailing garbage", setpointURL, `{"value": 20}x`, 400, "body", "data after the JSON object"},
		{"not json", setpointURL, `value=20`, 400, "body", "not JSON"},
		{"bare scalar", setpointURL, `20`, 400, "body", "body is a JSON number"},
		{"array", setpointURL, `[20]`, 400, "body", "body is a JSON array"},
		{"empty", setpointURL, ``, 400, "body", "body is empty"},
		{"truncated", setpointURL, `{"value": 2`, 400, "body", "truncated"},
		{"too large", setpointURL, `{"value": "` + strings.Repeat("x", 70<<10) + `"}`, 400, "body", "larger than 65536 bytes"},
		{"query param", setpointURL + "?force=1", `{"value": 20}`, 400, "force", "unknown query parameter"},
		// Keys are matched exactly and once: encoding/json alone would take
		// "Value" for "value" and keep the last of repeated keys.
		{"capitalised key", setpointURL, `{"Value": 21}`, 400, "body", `key "Value": keys are case-sensitive, want "value"`},
		{"mixed-case key", setpointURL, `{"vaLue": 21}`, 400, "body", `key "vaLue": keys are case-sensitive`},
		{"upper-case key after value", setpointURL, `{"value": 21, "VALUE": 22}`, 400, "body", `key "VALUE": keys are case-sensitive`},
		{"duplicate key", setpointURL, `{"value": 22, "value": 23}`, 400, "body", `key "value" more than once`},
		{"duplicate key, same value", setpointURL, `{"value": 22, "value": 22}`, 400, "body", `key "value" more than once`},
		{"unknown key first", setpointURL, `{"force": true, "value": 20}`, 400, "body", `unknown key "force"`},
		{"number beyond float64", setpointURL, `{"value": 1e400}`, 400, "value", "number 1e400 does not fit a 64-bit float"},
		{"trailing comma", setpointURL, `{"value": 20,}`, 400, "body", "not JSON"},
		{"missing colon", setpointURL, `{"value" 20}`, 400, "body", "not JSON"},
		{"truncated after key", setpointURL, `{"value":`, 400, "body", "truncated"},
		{"array value", setpointURL, `{"value": [1,`, 400, "value", "must be a JSON scalar, got an array"},
		{"white space only", setpointURL, " \n\t", 400, "body", "body is empty"},
		{"bare string", setpointURL, `"20"`, 400, "body", "body is a JSON string"},
		{"bare null", setpointURL, `null`, 400, "body", "body is a JSON null"},
		{"bare bool", setpointURL, `true`, 400, "body", "body is a JSON bool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			wantError(t, e.do(t, "PUT", tt.path, tt.body, ""), tt.status, tt.field, tt.sub)
			if n := e.room.count(); n != 0 {
				t.Errorf("writer called %d times for a rejected write", n)
			}
		})
	}
}

func TestWriteDeviceFailure(t *testing.T) {
	e := newEnv(t, Options{})
	e.room.err = errDevice
	wantError(t, e.do(t, "PUT", setpointURL, `{"value": 20}`, ""), http.StatusBadGateway, "", "slave device failure")
	if e.room.count() != 1 {
		t.Errorf("writer called %d times, want 1", e.room.count())
	}
}

func TestWriteNoWriter(t *testing.T) {
	e := newEnv(t, Options{})
	wantError(t, e.do(t, "PUT", "/api/v1/datapoints/pv/limit/value", `{"value": 50}`, ""), http.StatusConflict, "value", "does not accept writes")
}

func TestWriteRateLimited(t *testing.T) {
	e := newEnv(t, Options{})
	const path = "/api/v1/datapoints/slow/setpoint/value"
	if w := e.do(t, "PUT", path, `{"value": 1}`, ""); w.Code != 200 {
		t.Fatalf("first write: %d %s", w.Code, w.Body)
	}
	wantError(t, e.do(t, "PUT", path, `{"value": 2}`, ""), http.StatusTooManyRequests, "value", "rate limited")
	if e.slow.count() != 1 {
		t.Errorf("writer called %d times, want 1", e.slow.count())
	}
}
