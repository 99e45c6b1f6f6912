package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestTokenScopes: read tokens read, write tokens also write, metrics
// tokens only scrape, admin (and plain) tokens do everything.
func TestTokenScopes(t *testing.T) {
	e := newEnv(t, Options{Auth: "token", MetricsAuth: "token", Tokens: []string{"plain"}, Scoped: []ScopedToken{
		{"r", ScopeRead}, {"w", ScopeWrite}, {"a", ScopeAdmin}, {"m", ScopeMetrics},
	}})
	const put = `{"value": 21}`
	for _, c := range []struct {
		tok              string
		read, write, met int
	}{
		{"r", 200, 403, 403}, {"w", 200, 200, 403}, {"a", 200, 200, 200}, {"m", 403, 403, 200}, {"plain", 200, 200, 200},
	} {
		got := []int{
			e.do(t, "GET", "/api/v1/devices", "", c.tok).Code,
			e.do(t, "PUT", "/api/v1/datapoints/room/setpoint/value", put, c.tok).Code,
			e.do(t, "GET", "/metrics", "", c.tok).Code,
		}
		if want := []int{c.read, c.write, c.met}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("token %q: read/write/metrics %v, want %v", c.tok, got, want)
		}
	}
	wantError(t, e.do(t, "PUT", "/api/v1/datapoints/room/setpoint/value", put, "r"), 403, "", `token scope "read" does not allow this request (needs scope write or admin)`)
	if n := e.room.count(); n != 3 {
		t.Errorf("device writes %d, want 3 (write, admin, plain)", n)
	}
	if got := e.do(t, "GET", "/api/v1/stream?access_token=m", "", "").Code; got != 403 {
		t.Errorf("metrics token on the stream: %d, want 403", got)
	}
}

type fakeAudit struct {
	mu   sync.Mutex
	recs []model.AuditRecord
}

func (f *fakeAudit) Audit(_ context.Context, r model.AuditRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs = append(f.recs, r)
	return nil
}

func (f *fakeAudit) AuditRecords(context.Context, model.AuditQuery) ([]model.AuditRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.AuditRecord(nil), f.recs...), nil
}

// TestAuthFailuresAudited: every failure is counted by reason and logged
// without the token; a refused write is an audit record.
func TestAuthFailuresAudited(t *testing.T) {
	var logs testenv.Buffer
	audit := &fakeAudit{}
	e := newEnv(t, Options{Auth: "token", Scoped: []ScopedToken{{"reader-secret", ScopeRead}}, Audit: audit,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	e.do(t, "GET", "/api/v1/devices", "", "")
	e.do(t, "GET", "/api/v1/devices", "", "wrong-secret")
	e.do(t, "PUT", "/api/v1/datapoints/room/setpoint/value", `{"value": 21}`, "reader-secret")
	for reason, want := range map[string]float64{failMissing: 1, failInvalid: 1, failScope: 1} {
		if got := testutil.ToFloat64(e.srv.authFail.failures.WithLabelValues(reason)); got != want {
			t.Errorf("gridbox_api_auth_failures_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	out := logs.String()
	if strings.Count(out, "API authentication failed") != 3 || !strings.Contains(out, "reason=insufficient_scope") || !strings.Contains(out, "remote=") {
		t.Errorf("log:\n%s", out)
	}
	if strings.Contains(out, "wrong-secret") || strings.Contains(out, "reader-secret") {
		t.Errorf("a token leaked into the log:\n%s", out)
	}
	recs, _ := audit.AuditRecords(context.Background(), model.AuditQuery{})
	if len(recs) != 1 || recs[0].Datapoint != "room/setpoint" || recs[0].Result != model.AuditRefused || recs[0].Source != "rest" ||
		!strings.Contains(recs[0].Error, "authentication") {
		t.Errorf("audit records %+v, want one refused write of room/setpoint", recs)
	}
}

func TestAuthFailureLogIsBounded(t *testing.T) {
	var logs testenv.Buffer
	e := newEnv(t, Options{Auth: "token", Tokens: []string{testToken}, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	for range 100 {
		e.do(t, "GET", "/api/v1/devices", "", "wrong")
	}
	if n := strings.Count(logs.String(), "API authentication failed"); n < logBurst || n > 50 {
		t.Errorf("%d log lines for 100 failures, want %d and then one a second", n, logBurst)
	}
	if got := testutil.ToFloat64(e.srv.authFail.failures.WithLabelValues(failInvalid)); got != 100 {
		t.Errorf("counted %v failures, want 100", got)
	}
}

func TestCORS(t *testing.T) {
	preflight := func(e *env, origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("OPTIONS", "/api/v1/devices", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		return w
	}
	off := newEnv(t, Options{})
	if w := preflight(off, "https://dash.example"); w.Code == 204 || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS off by default: %d %v", w.Code, w.Header())
	}
	on := newEnv(t, Options{CORSOrigins: []string{"https://dash.example"}})
	if w := preflight(on, "https://dash.example"); w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://dash.example" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("allowed origin preflight: %d %v", w.Code, w.Header())
	}
	if w := preflight(on, "https://evil.example"); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin got CORS headers: %v", w.Header())
	}
	req := httptest.NewRequest("GET", "/api/v1/devices", nil)
	req.Header.Set("Origin", "https://dash.example")
	w := httptest.NewRecorder()
	on.h.ServeHTTP(w, req)
	if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "https://dash.example" {
		t.Errorf("simple request: %d %v", w.Code, w.Header())
	}
}

// TestTokenConfig: plain strings, {token, scope}, {file, scope} and
// token_files, as the gateway reads the section.
func TestTokenConfig(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "api-token")
	os.WriteFile(secret, []byte("from-file\n"), 0o600)
	list := filepath.Join(dir, "tokens")
	os.WriteFile(list, []byte("# scrapers and dashboards\nscrape-tok metrics\n\ndash-tok read\nops-tok\n"), 0o600)
	src := fmt.Sprintf(`http:
  auth: token
  tokens:
    - "${OLD}"
    - {token: "${RO}", scope: read}
    - {file: %q, scope: write}
  token_files: [%q]
`, secret, list)
	cfg := decodeHTTP(t, src, map[string]string{"OLD": "old-tok", "RO": "ro-tok"})
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	toks, errs := cfg.tokens()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := "[{old-tok } {ro-tok read} {from-file write} {scrape-tok metrics} {dash-tok read} {ops-tok }]"
	if fmt.Sprint(toks) != want {
		t.Errorf("tokens %v, want %s", toks, want)
	}
	for _, c := range []struct{ src, want string }{
		{"http:\n  tokens: [{token: x, scope: root}]\n", `tokens[0]: scope "root"`},
		{"http:\n  tokens: [{token: x, file: y}]\n", "tokens[0]: set token or file, not both"},
		{"http:\n  tokens: [{file: /nonexistent/t}]\n", "tokens[0]: token file: open /nonexistent/t"},
		{"http:\n  tokens: [{tokn: x}]\n", `token key "tokn": unknown key`},
		{"http:\n  token_files: [/nonexistent/list]\n", "token_files[0]: token file"},
		{"http:\n  token_files: [" + secret + "x]\n", "token_files[0]"},
	} {
		var msg string
		cfg, err := decodeHTTPErr(t, c.src)
		if err != nil {
			msg = err.Error()
		} else {
			msg = config.Errors(cfg.Validate()).Error()
		}
		if !strings.Contains(msg, c.want) {
			t.Errorf("%q: %q, want %q", c.src, msg, c.want)
		}
	}
	os.WriteFile(list, []byte("a b c\n"), 0o600)
	if _, err := readTokenFile(list); err == nil || !strings.Contains(err.Error(), list+":1") {
		t.Errorf("bad line: %v", err)
	}
}

func decodeHTTP(t *testing.T, src string, env map[string]string) *Config {
	t.Helper()
	c, err := config.Parse([]byte(src), "g.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	cfg := Kind().NewConfig().(*Config)
	if errs := config.Decode(c.Section("http").Node, cfg, "http"); len(errs) > 0 {
		t.Fatal(errs)
	}
	return cfg
}

func decodeHTTPErr(t *testing.T, src string) (*Config, error) {
	t.Helper()
	c, err := config.Parse([]byte(src), "g.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, err
	}
	cfg := Kind().NewConfig().(*Config)
	if errs := config.Decode(c.Section("http").Node, cfg, "http"); len(errs) > 0 {
		return nil, config.Errors(errs)
	}
	return cfg, nil
}

// TestScopesWithCurl: the scopes over real HTTP with curl as the client.
func TestScopesWithCurl(t *testing.T) {
	curl := testenv.Tool(t, "curl")
	e := newEnv(t, Options{Auth: "token", Scoped: []ScopedToken{{"ro", ScopeRead}, {"rw", ScopeWrite}}})
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	status := func(tok string, args ...string) string {
		base := []string{"-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer " + tok}
		out, err := exec.Command(curl, append(base, args...)...).Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		return string(out)
	}
	put := []string{"-X", "PUT", "-d", `{"value": 22.5}`, ts.URL + "/api/v1/datapoints/room/setpoint/value"}
	got := []string{status("ro", ts.URL+"/api/v1/devices"), status("ro", put...), status("rw", put...), status("nope", ts.URL+"/api/v1/devices")}
	if want := "[200 403 200 403]"; fmt.Sprint(got) != want {
		t.Fatalf("read token GET, read token PUT, write token PUT, wrong token: %v, want %s", got, want)
	}
	if e.room.count() != 1 {
		t.Errorf("device writes %d, want 1", e.room.count())
	}
}
