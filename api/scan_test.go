package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/sim"
)

// TestDriversSchema: each driver's device entry schema with defaults,
// descriptions and required keys, and its built-in profiles as suggestions.
func TestDriversSchema(t *testing.T) {
	e := newEnv(t, Options{Profiles: profile.Builtin(),
		DeviceSchemas: map[string]config.Schema{"modbus": config.SchemaOfValue(modbus.NewConfig())}})
	rec := e.do(t, "GET", "/api/v1/drivers", "", "")
	var out []struct {
		Name   string `json:"name"`
		Schema struct {
			Required   []string                  `json:"required"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"schema"`
		Profiles []ProfileInfo `json:"profiles"`
	}
	decode(t, rec, &out)
	if len(out) != 1 || out[0].Name != "modbus" {
		t.Fatalf("drivers: %s", rec.Body)
	}
	m := out[0]
	if strings.Join(m.Schema.Required, ",") != "driver,id,url" {
		t.Errorf("required %v, want driver, id, url", m.Schema.Required)
	}
	p := m.Schema.Properties
	if p["interval"]["default"] != "5s" || p["retries"]["default"] != float64(modbus.DefaultRetries) {
		t.Errorf("defaults: interval %v, retries %v", p["interval"]["default"], p["retries"]["default"])
	}
	if d, _ := p["url"]["description"].(string); !strings.Contains(d, "tcp://") {
		t.Errorf("url description %q", d)
	}
	sug, _ := p["profile"]["x-suggest"].([]any)
	if len(sug) == 0 || len(sug) != len(m.Profiles) {
		t.Errorf("profile suggestions %v for %d profiles", sug, len(m.Profiles))
	}
	for _, pr := range m.Profiles {
		if pr.Driver != "modbus" {
			t.Errorf("profile %s of driver %s listed under modbus", pr.Name, pr.Driver)
		}
	}
}

// TestScanEndpoint: a scan of a simulator finds its unit and the entry to
// add; it needs scope admin, refuses big ranges and a second scan at once.
func TestScanEndpoint(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := sim.Start(ctx, "demo-room", "127.0.0.1:0", 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	e := newEnv(t, Options{Auth: "token", Profiles: profile.Builtin(), Scoped: []ScopedToken{
		{Token: "adm", Scope: ScopeAdmin}, {Token: "wr", Scope: ScopeWrite}}})
	body := `{"targets": "` + srv.Addr() + `", "units": "1-2", "timeout": "300ms"}`
	if rec := e.do(t, "POST", "/api/v1/scan", body, "wr"); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "admin") {
		t.Errorf("scan with a write token: %d %s, want 403 naming admin", rec.Code, rec.Body)
	}
	if rec := e.do(t, "POST", "/api/v1/scan", body, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("scan without a token: %d, want 401", rec.Code)
	}
	rec := e.do(t, "POST", "/api/v1/scan", body, "adm")
	var res ScanResult
	decode(t, rec, &res)
	if rec.Code != 200 || res.Endpoints != 1 || res.Answering != 1 || len(res.Units) == 0 {
		t.Fatalf("scan: %d %s", rec.Code, rec.Body)
	}
	u := res.Units[0]
	if u.Endpoint != srv.Addr() || u.Unit != 1 || u.Entry["url"] != "tcp://"+srv.Addr() || u.Entry["driver"] == nil || u.Entry["id"] == nil {
		t.Errorf("unit %+v", u)
	}
	if !strings.Contains(u.YAML, "- id: ") || !strings.Contains(u.YAML, "# "+srv.Addr()) {
		t.Errorf("yaml %q", u.YAML)
	}
	raw, _ := json.Marshal(u.Entry)
	if !json.Valid(raw) {
		t.Errorf("entry is not JSON: %s", raw)
	}
	for _, c := range []struct{ body, field, sub string }{
		{`{"targets": "10.0.0.0/23:502"}`, "targets", "at most 256"},
		{`{"targets": ""}`, "targets", "no targets"},
		{`{"targets": "` + srv.Addr() + `", "timeout": "10s"}`, "timeout", "at most 5s"},
		{`{"targets": "` + srv.Addr() + `", "units": "300"}`, "units", "300"},
		{`{"target": "x"}`, "body", "unknown field"},
	} {
		wantError(t, e.do(t, "POST", "/api/v1/scan", c.body, "adm"), http.StatusBadRequest, c.field, c.sub)
	}
	e.srv.scanning.Store(true) // a scan is running
	wantError(t, e.do(t, "POST", "/api/v1/scan", body, "adm"), http.StatusConflict, "", "already running")
}

// TestStatusBroker: the broker's state is part of /api/v1/status.
func TestStatusBroker(t *testing.T) {
	e := newEnv(t, Options{Broker: func() map[string]any { return map[string]any{"broker": "embedded", "clients": 2, "connected": true} }})
	var st map[string]any
	decode(t, e.do(t, "GET", "/api/v1/status", "", ""), &st)
	b, _ := st["broker"].(map[string]any)
	if b["broker"] != "embedded" || b["clients"] != float64(2) || b["connected"] != true {
		t.Errorf("status broker %v", st["broker"])
	}
	decode(t, newEnv(t, Options{}).do(t, "GET", "/api/v1/status", "", ""), &st)
	if st["broker"] != nil {
		t.Errorf("broker without an mqtt sink: %v", st["broker"])
	}
}
