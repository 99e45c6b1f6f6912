package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestLoginLimiter: a sliding window of failures per address.
func TestLoginLimiter(t *testing.T) {
	l := newLoginLimiter(3, time.Minute)
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if _, blocked := l.blocked("a", t0.Add(time.Duration(i)*time.Second)); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("a", t0.Add(time.Duration(i)*time.Second))
	}
	wait, blocked := l.blocked("a", t0.Add(10*time.Second))
	if !blocked || wait != 50*time.Second {
		t.Fatalf("after 3 failures: blocked %v, wait %s; want 50s", blocked, wait)
	}
	if _, blocked := l.blocked("b", t0.Add(10*time.Second)); blocked {
		t.Error("another address is blocked too")
	}
	if _, blocked := l.blocked("a", t0.Add(60*time.Second)); blocked {
		t.Error("still blocked after the first failure left the window")
	}
	l.fail("a", t0.Add(60*time.Second))
	if _, blocked := l.blocked("a", t0.Add(60*time.Second)); !blocked {
		t.Error("not blocked with 3 failures in the window")
	}
	l.succeed("a")
	if _, blocked := l.blocked("a", t0.Add(60*time.Second)); blocked {
		t.Error("blocked after a successful login")
	}
}

// TestLoginRateLimitHTTP: over a real connection, the sixth failed login
// from one address within a minute is answered 429 with Retry-After, even
// with the right password; it is counted and audited.
func TestLoginRateLimitHTTP(t *testing.T) {
	audit := &fakeAudit{}
	e := newEnv(t, Options{Auth: "token", Audit: audit, Users: []User{{Name: "ada", Password: "admin-pw", Role: RoleAdmin}}})
	ts := httptest.NewServer(e.srv.Handler())
	defer ts.Close()
	post := func(pw string) *http.Response {
		t.Helper()
		resp, err := http.Post(ts.URL+"/api/v1/login", "application/json", strings.NewReader(`{"name": "ada", "password": "`+pw+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range loginFailures {
		if resp := post("wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp := post("admin-pw")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after %d failures: %d, want 429", loginFailures, resp.StatusCode)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Errorf("Retry-After %q, want 1..60 s", resp.Header.Get("Retry-After"))
	}
	if n := testutil.ToFloat64(e.srv.loginFails.WithLabelValues("rate_limited")); n != 1 {
		t.Errorf("rate_limited counted %v, want 1", n)
	}
	if n := testutil.ToFloat64(e.srv.loginFails.WithLabelValues("wrong_credentials")); n != loginFailures {
		t.Errorf("wrong_credentials counted %v, want %d", n, loginFailures)
	}
	recs, _ := audit.AuditRecords(context.Background(), model.AuditQuery{})
	var limited int
	for _, r := range recs {
		if r.Source == "login" && r.Result == model.AuditRefused && strings.Contains(r.Error, "failed logins") {
			limited++
		}
	}
	if len(recs) != loginFailures+1 || limited != 1 {
		t.Errorf("audit records %+v: want %d refusals, one of them rate limited", recs, loginFailures+1)
	}
	// Another address is not limited.
	req := httptest.NewRequest("POST", "/api/v1/login", strings.NewReader(`{"name": "ada", "password": "admin-pw"}`))
	req.RemoteAddr = "198.51.100.7:4000"
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("login from another address: %d %s", rec.Code, rec.Body)
	}
}

// TestSessionsSurviveRestart: a login outlives its server and Sessions (a
// new process reading the same data directory); logout ends it there too;
// the file holds no token.
func TestSessionsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	users := []User{{Name: "ada", Password: "admin-pw", Role: RoleAdmin}}
	server := func() http.Handler {
		t.Helper()
		se := NewSessions()
		if err := se.Persist(dir); err != nil {
			t.Fatal(err)
		}
		return newEnv(t, Options{Auth: "token", Users: users, Sessions: se}).srv.Handler()
	}
	h1 := server()
	res := login(t, h1, "ada", "admin-pw")
	if rec := request(t, h1, "GET", "/api/v1/devices", res.Token, ""); rec.Code != 200 {
		t.Fatalf("read: %d", rec.Code)
	}
	data, err := os.ReadFile(filepath.Join(dir, SessionsFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), res.Token) || strings.Contains(string(data), strings.TrimPrefix(res.Token, "gbs_")) {
		t.Errorf("the sessions file holds the token: %s", data)
	}
	if fi, err := os.Stat(filepath.Join(dir, SessionsFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("sessions file mode: %v %v", fi.Mode(), err)
	}
	h2 := server() // the restarted process
	rec := request(t, h2, "GET", "/api/v1/session", res.Token, "")
	var info SessionInfo
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil || info.Name != "ada" || info.Role != RoleAdmin {
		t.Fatalf("session after the restart: %s", rec.Body)
	}
	if rec := request(t, h2, "GET", "/api/v1/devices", res.Token, ""); rec.Code != 200 {
		t.Fatalf("read after the restart: %d", rec.Code)
	}
	if rec := request(t, h2, "POST", "/api/v1/logout", res.Token, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("logout: %d", rec.Code)
	}
	h3 := server()
	if rec := request(t, h3, "GET", "/api/v1/devices", res.Token, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("read after logout and another restart: %d, want 401", rec.Code)
	}
}

// TestSessionsFileExpired: expired and malformed entries of the file are dropped at load.
func TestSessionsFileExpired(t *testing.T) {
	dir := t.TempDir()
	old := map[string]session{
		hashToken("gbs_old"):  {User: "ada", Role: RoleAdmin, Expires: time.Now().Add(-time.Minute)},
		hashToken("gbs_live"): {User: "ada", Role: RoleAdmin, Expires: time.Now().Add(time.Hour)},
		"not-a-hash":          {User: "eve", Role: RoleAdmin, Expires: time.Now().Add(time.Hour)},
	}
	data, _ := json.Marshal(old)
	if err := os.WriteFile(filepath.Join(dir, SessionsFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	se := NewSessions()
	if err := se.Persist(dir); err != nil {
		t.Fatal(err)
	}
	if _, ok := se.lookup("gbs_old", time.Now()); ok {
		t.Error("an expired session was loaded")
	}
	if _, ok := se.lookup("gbs_live", time.Now()); !ok {
		t.Error("a live session was not loaded")
	}
	if len(se.byHash) != 1 {
		t.Errorf("%d sessions loaded, want 1", len(se.byHash))
	}
	if err := os.WriteFile(filepath.Join(dir, SessionsFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := NewSessions().Persist(dir); err == nil || !strings.Contains(err.Error(), SessionsFile) {
		t.Errorf("a broken file: %v, want an error naming it", err)
	}
}
