package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/sink"
)

// TestExtraRoutes: a route another sink contributes is served behind the
// read access of the API; a route outside GET /api/v1/ is refused.
func TestExtraRoutes(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, map[string]int{"n": 1}) })
	extra := []sink.Route{{Pattern: "GET /api/v1/ocpp/transactions", Handler: h}}
	for _, tc := range []struct {
		auth, token string
		want        int
	}{
		{"token", "", http.StatusUnauthorized},
		{"token", testToken, http.StatusOK},
		{"read-open", "", http.StatusOK},
	} {
		s, err := New(bus.New(), Options{Auth: tc.auth, Tokens: []string{testToken}, Extra: extra})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/api/v1/ocpp/transactions", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("auth %s, token %q: %d, want %d", tc.auth, tc.token, rec.Code, tc.want)
		}
	}
	for _, bad := range []sink.Route{{Pattern: "PUT /api/v1/x"}, {Pattern: "GET /x"}, {Pattern: "POST /bemcom/x/"},
		{Pattern: "GET /ui/x/"}, {Pattern: "GET /metrics/x"}, {Pattern: "GET /api/v2/x"}, {Pattern: "/bemcom/x/", Write: true}} {
		bad.Handler = h
		if _, err := New(bus.New(), Options{Auth: "none", Extra: []sink.Route{bad}}); err == nil {
			t.Errorf("extra route %+v accepted", bad)
		}
	}
}

// TestExtraWriteRoutes: a dialect's own root (/bemcom/) is served; its
// Write routes need write access even where reads are open.
func TestExtraWriteRoutes(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusCreated, map[string]int{"n": 1}) })
	extra := []sink.Route{{Pattern: "GET /bemcom/datapoint/{$}", Handler: h}, {Pattern: "POST /bemcom/datapoint/{id}/value/{$}", Handler: h, Write: true}}
	s, err := New(bus.New(), Options{Auth: "read-open", Tokens: []string{testToken}, Extra: extra})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{http.MethodGet, "/bemcom/datapoint/", "", http.StatusCreated},
		{http.MethodPost, "/bemcom/datapoint/1/value/", "", http.StatusUnauthorized},
		{http.MethodPost, "/bemcom/datapoint/1/value/", testToken, http.StatusCreated},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s %s token %q: %d, want %d", tc.method, tc.path, tc.token, rec.Code, tc.want)
		}
	}
}
