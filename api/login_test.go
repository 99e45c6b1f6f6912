package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func loginEnv(t *testing.T) *env {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("view-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, Options{Auth: "token", Users: []User{
		{Name: "ada", Password: "admin-pw", Role: RoleAdmin},
		{Name: "vic", PasswordHash: string(hash), Role: RoleViewer},
	}})
}

func request(t *testing.T, h http.Handler, method, path, tok, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func login(t *testing.T, h http.Handler, name, pw string) LoginResult {
	t.Helper()
	rec := request(t, h, "POST", "/api/v1/login", "", `{"name": "`+name+`", "password": "`+pw+`"}`)
	var res LoginResult
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &res) != nil || res.Token == "" || res.Expires == 0 {
		t.Fatalf("login %s: %d %s", name, rec.Code, rec.Body)
	}
	return res
}

// TestLoginRoles: users log in with bcrypt or ${ENV} passwords; nothing is
// readable without a login, a viewer reads but cannot write, logout ends it.
func TestLoginRoles(t *testing.T) {
	e := loginEnv(t)
	h := e.srv.Handler()
	for _, p := range []string{"/api/v1/datapoints", "/api/v1/devices", "/api/v1/status", "/api/v1/stream"} {
		if rec := request(t, h, "GET", p, "", ""); rec.Code != http.StatusUnauthorized {
			t.Errorf("GET %s without login: %d", p, rec.Code)
		}
	}
	for _, c := range []struct{ name, pw string }{{"ada", "wrong"}, {"nobody", "admin-pw"}, {"vic", "admin-pw"}} {
		if rec := request(t, h, "POST", "/api/v1/login", "", `{"name": "`+c.name+`", "password": "`+c.pw+`"}`); rec.Code != http.StatusUnauthorized {
			t.Errorf("login %s/%s: %d, want 401", c.name, c.pw, rec.Code)
		}
	}
	if rec := request(t, h, "POST", "/api/v1/login", "", `{"nam": 1}`); rec.Code != http.StatusBadRequest {
		t.Errorf("malformed login: %d, want 400", rec.Code)
	}
	viewer := login(t, h, "vic", "view-pw")
	if viewer.Role != RoleViewer {
		t.Errorf("viewer role %q", viewer.Role)
	}
	if rec := request(t, h, "GET", "/api/v1/datapoints", viewer.Token, ""); rec.Code != 200 {
		t.Errorf("viewer read: %d", rec.Code)
	}
	rec := request(t, h, "PUT", "/api/v1/datapoints/room/setpoint/value", viewer.Token, `{"value": 21}`)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "viewer") {
		t.Errorf("viewer write: %d %s", rec.Code, rec.Body)
	}
	if rec := request(t, h, "POST", "/api/v1/devices", viewer.Token, `{"id": "x", "driver": "modbus"}`); rec.Code != http.StatusForbidden {
		t.Errorf("viewer config change: %d", rec.Code)
	}
	admin := login(t, h, "ada", "admin-pw")
	if rec := request(t, h, "PUT", "/api/v1/datapoints/room/setpoint/value", admin.Token, `{"value": 21}`); rec.Code != 200 {
		t.Errorf("admin write: %d %s", rec.Code, rec.Body)
	}
	var info SessionInfo
	rec = request(t, h, "GET", "/api/v1/session", admin.Token, "")
	if json.Unmarshal(rec.Body.Bytes(), &info) != nil || info.Role != RoleAdmin || !info.Login || info.Name != "ada" {
		t.Errorf("session: %s", rec.Body)
	}
	if rec := request(t, h, "GET", "/api/v1/stream?access_token="+admin.Token+"&device=nope", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("stream with a login token in the query: %d, want it past auth (404 for the unknown device)", rec.Code)
	}
	if rec := request(t, h, "POST", "/api/v1/logout", admin.Token, ""); rec.Code != http.StatusNoContent {
		t.Errorf("logout: %d", rec.Code)
	}
	if rec := request(t, h, "GET", "/api/v1/datapoints", admin.Token, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("read after logout: %d", rec.Code)
	}
}

func TestUsersValidate(t *testing.T) {
	c := &Config{Listen: ":0", Auth: "token", MetricsAuth: "none", Users: []User{
		{Name: "a", Password: "x", PasswordHash: "y", Role: "admin"},
		{Name: "a", PasswordHash: "not-bcrypt", Role: "root"},
		{Password: "x", Role: "viewer"},
	}}
	var got []string
	for _, e := range c.Validate() {
		got = append(got, e.Path+": "+e.Msg)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"users[0]: set exactly one of", "users[1].name: \"a\" appears twice", "users[1].password_hash: not a bcrypt hash",
		"users[1].role: \"root\": want admin or viewer", "users[2].name: is empty"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in\n%s", want, all)
		}
	}
	if strings.Contains(all, "tokens") {
		t.Errorf("users count as credentials, but:\n%s", all)
	}
}
