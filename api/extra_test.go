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
	for _, bad := range []string{"PUT /api/v1/x", "GET /x"} {
		if _, err := New(bus.New(), Options{Auth: "none", Extra: []sink.Route{{Pattern: bad, Handler: h}}}); err == nil {
			t.Errorf("extra route %q accepted", bad)
		}
	}
}
