package api

import (
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestDevices(t *testing.T) {
	e := newEnv(t, Options{})
	e.bus.SetState(model.DeviceState{Device: "room", Online: true, LastSeen: 1700000000000}, 3, 1)
	w := e.do(t, "GET", "/api/v1/devices", "", "")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var got []map[string]any
	decode(t, w, &got)
	if len(got) != 3 || got[0]["id"] != "room" || got[1]["id"] != "pv" || got[2]["id"] != "slow" {
		t.Fatalf("devices %v: want room, pv, slow in registration order", got)
	}
	room := got[0]
	if room["driver"] != "modbus" || room["online"] != true || room["last_seen"] != 1.7e12 || room["polls"] != 3.0 || room["errors"] != 1.0 || room["error"] != "" {
		t.Errorf("room %v", room)
	}
	if got[1]["last_seen"] != nil {
		t.Errorf("pv last_seen %v, want null for never seen", got[1]["last_seen"])
	}
	wantError(t, e.do(t, "GET", "/api/v1/devices?x=1", "", ""), 400, "x", `unknown query parameter "x"`)
}

func TestDatapointsFilters(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"room/enabled", "room/mode", "room/setpoint", "room/temperature", "pv/ac_power", "pv/limit", "slow/setpoint"}},
		{"?device=pv", []string{"pv/ac_power", "pv/limit"}},
		{"?device=pv&device=slow", []string{"pv/ac_power", "pv/limit", "slow/setpoint"}},
		{"?kind=sensor", []string{"room/temperature", "pv/ac_power"}},
		{"?kind=actuator&device=room", []string{"room/enabled", "room/mode", "room/setpoint"}},
		{"?role=pv_power", []string{"pv/ac_power"}},
		{"?device=nosuch", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := e.do(t, "GET", "/api/v1/datapoints"+tt.query, "", "")
			var got []Datapoint
			decode(t, w, &got)
			keys := []string{}
			for _, p := range got {
				keys = append(keys, p.Device+"/"+p.Name)
			}
			if strings.Join(keys, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", keys, tt.want)
			}
		})
	}
}

func TestDatapointsBadParams(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct{ query, field, sub string }{
		{"?devcie=pv", "devcie", `unknown query parameter "devcie"`},
		{"?kind=meter", "kind", `kind "meter"`},
		{"?device=", "device", "empty"},
	}
	for _, tt := range tests {
		wantError(t, e.do(t, "GET", "/api/v1/datapoints"+tt.query, "", ""), 400, tt.field, tt.sub)
	}
}

func TestDatapointOne(t *testing.T) {
	e := newEnv(t, Options{})
	w := e.do(t, "GET", "/api/v1/datapoints/room/setpoint", "", "")
	var raw map[string]any
	decode(t, w, &raw)
	for _, k := range []string{"device", "name", "kind", "format", "unit", "min", "max", "allowed", "description", "role", "value"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("key %q missing in %s", k, w.Body)
		}
	}
	if raw["min"] != 5.0 || raw["max"] != 30.0 || raw["kind"] != "actuator" || raw["value"] != nil {
		t.Errorf("setpoint %s", w.Body)
	}

	e.bus.Publish(model.Value{Device: "room", Name: "temperature", Value: 21.5, Time: 1700000000123, Quality: model.Good})
	var p Datapoint
	decode(t, e.do(t, "GET", "/api/v1/datapoints/room/temperature", "", ""), &p)
	if p.Value == nil || p.Value.Value != 21.5 || p.Value.Timestamp != 1700000000123 || p.Value.Quality != model.Good {
		t.Errorf("value %+v", p.Value)
	}

	wantError(t, e.do(t, "GET", "/api/v1/datapoints/room/foo", "", ""), 404, "", "unknown datapoint room/foo")
}

func TestNaNValueIsNull(t *testing.T) {
	e := newEnv(t, Options{})
	e.bus.Publish(model.Value{Device: "pv", Name: "ac_power", Value: math.NaN(), Time: 1, Quality: model.Bad})
	w := e.do(t, "GET", "/api/v1/datapoints/pv/ac_power", "", "")
	var p Datapoint
	decode(t, w, &p)
	if p.Value == nil || p.Value.Value != nil || p.Value.Quality != model.Bad {
		t.Errorf("NaN reading: got %s, want value null with quality bad", w.Body)
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, Options{Auth: "token", Tokens: []string{testToken}, Version: "1.2.3"})
	e.bus.SetState(model.DeviceState{Device: "pv", Online: true}, 1, 0)
	w := e.do(t, "GET", "/healthz", "", "")
	var h Health
	decode(t, w, &h)
	if w.Code != 200 || h != (Health{Status: "ok", Version: "1.2.3", DevicesOnline: 1, Devices: 3}) {
		t.Errorf("healthz %d %+v", w.Code, h)
	}
}

func TestUnmatchedRoutesAnswerJSON(t *testing.T) {
	e := newEnv(t, Options{})
	w := e.do(t, "DELETE", "/api/v1/devices", "", "")
	wantError(t, w, http.StatusMethodNotAllowed, "", "method DELETE not allowed")
	if allow := w.Header().Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("Allow %q, want GET", allow)
	}
	wantError(t, e.do(t, "POST", "/api/v1/datapoints/room/setpoint/value", "{}", ""), http.StatusMethodNotAllowed, "", "allowed: PUT")
	wantError(t, e.do(t, "GET", "/api/v1/nothing", "", ""), http.StatusNotFound, "", "no endpoint GET /api/v1/nothing")
}

func TestRequestMetrics(t *testing.T) {
	e := newEnv(t, Options{})
	e.do(t, "GET", "/api/v1/datapoints/room/setpoint", "", "")
	e.do(t, "GET", "/api/v1/datapoints/pv/ac_power", "", "")
	e.do(t, "GET", "/api/v1/datapoints/room/nosuch", "", "")
	e.do(t, "GET", "/nothing", "", "")
	route := "GET /api/v1/datapoints/{device}/{name}"
	if got := testutil.ToFloat64(e.srv.requests.WithLabelValues(route, "200")); got != 2 {
		t.Errorf("requests{route=%q,code=200} = %v, want 2", route, got)
	}
	if got := testutil.ToFloat64(e.srv.requests.WithLabelValues(route, "404")); got != 1 {
		t.Errorf("requests{code=404} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.srv.requests.WithLabelValues("unmatched", "404")); got != 1 {
		t.Errorf("requests{route=unmatched} = %v, want 1", got)
	}
	w := e.do(t, "GET", "/metrics", "", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `gridbox_http_requests_total{code="200",route="GET /api/v1/datapoints/{device}/{name}"} 2`) {
		t.Errorf("/metrics %d does not show the request counter:\n%s", w.Code, w.Body)
	}
}

func TestMetricsWithoutGatherer(t *testing.T) {
	e := newEnv(t, Options{})
	srv, err := New(e.bus, Options{Auth: "none"})
	if err != nil {
		t.Fatal(err)
	}
	e.h = srv.Handler()
	wantError(t, e.do(t, "GET", "/metrics", "", ""), 404, "", "not enabled")
}

func TestNewRejectsBadOptions(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name string
		o    Options
		sub  string
	}{
		{"unknown auth", Options{Auth: "basic", Tokens: []string{"x"}}, `auth "basic"`},
		{"token without tokens", Options{Auth: "token"}, "at least one token"},
		{"default auth without tokens", Options{}, "at least one token"},
		{"read-open without tokens", Options{Auth: "read-open"}, "at least one token"},
		{"metrics token without tokens", Options{Auth: "none", MetricsAuth: "token"}, "at least one token"},
		{"unknown metrics auth", Options{Auth: "none", MetricsAuth: "basic"}, `metrics auth "basic"`},
		{"empty token", Options{Auth: "token", Tokens: []string{""}}, "tokens[0] is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(e.bus, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.sub) {
				t.Errorf("New: %v, want error containing %q", err, tt.sub)
			}
		})
	}
	if _, err := New(nil, Options{Auth: "none"}); err == nil {
		t.Error("New(nil bus): no error")
	}
	// A second server on the same registry reuses the metrics instead of failing.
	if _, err := New(e.bus, Options{Auth: "none", Metrics: e.reg}); err != nil {
		t.Errorf("second server on one registry: %v", err)
	}
}

func TestUI(t *testing.T) {
	e := newEnv(t, Options{Auth: "token", Tokens: []string{testToken}})
	w := e.do(t, "GET", "/", "", "")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET / %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	page := w.Body.String()
	for _, f := range []string{"app.js", "api.js", "pages.js", "point.js"} {
		w := e.do(t, "GET", "/ui/"+f, "", "")
		if w.Code != 200 {
			t.Fatalf("GET /ui/%s: %d", f, w.Code)
		}
		page += w.Body.String()
	}
	for _, want := range []string{"/api/v1/datapoints", "/api/v1/stream", "access_token", "sessionStorage", "/api/v1/login"} {
		if !strings.Contains(page, want) {
			t.Errorf("page does not use %s", want)
		}
	}
	for _, bad := range []string{"http://", "https://", "localStorage.setItem(TOKEN", "gridbox.password"} {
		if strings.Contains(page, bad) {
			t.Errorf("page refers to external resource or stores a password (%q)", bad)
		}
	}
}
