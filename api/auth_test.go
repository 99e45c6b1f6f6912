package api

import (
	"net/http/httptest"
	"testing"
)

func TestAuthMatrix(t *testing.T) {
	const (
		none  = ""
		good  = testToken
		wrong = "wrong-token"
	)
	type req struct{ method, path, body, tok string }
	get := func(path, tok string) req { return req{"GET", path, "", tok} }
	put := func(tok string) req {
		return req{"PUT", "/api/v1/datapoints/room/setpoint/value", `{"value": 21}`, tok}
	}
	tests := []struct {
		mode, metrics string
		r             req
		want          int
	}{
		// token: every /api/v1 request needs a valid token.
		{"token", "none", get("/api/v1/devices", none), 401},
		{"token", "none", get("/api/v1/devices", wrong), 403},
		{"token", "none", get("/api/v1/devices", good), 200},
		{"token", "none", get("/api/v1/datapoints/room/setpoint/history", none), 401},
		{"token", "none", put(none), 401},
		{"token", "none", put(wrong), 403},
		{"token", "none", put(good), 200},
		{"token", "none", get("/api/v1/stream?access_token="+wrong, none), 403},
		{"token", "none", get("/api/v1/devices?access_token="+good, none), 401}, // query token only for the stream
		{"token", "none", get("/api/v1/openapi.json", none), 200},
		{"token", "none", get("/healthz", none), 200},
		{"token", "none", get("/", none), 200},
		{"token", "none", get("/metrics", none), 200},
		// read-open: reads open, writes need a token.
		{"read-open", "none", get("/api/v1/devices", none), 200},
		{"read-open", "none", get("/api/v1/datapoints/room/setpoint", none), 200},
		{"read-open", "none", put(none), 401},
		{"read-open", "none", put(wrong), 403},
		{"read-open", "none", put(good), 200},
		// none: all open.
		{"none", "none", get("/api/v1/devices", none), 200},
		{"none", "none", put(none), 200},
		{"none", "none", put(wrong), 200},
		// metrics_auth token.
		{"none", "token", get("/metrics", none), 401},
		{"none", "token", get("/metrics", wrong), 403},
		{"none", "token", get("/metrics", good), 200},
		{"token", "token", get("/healthz", none), 200},
	}
	for _, tt := range tests {
		name := tt.mode + "/" + tt.metrics + " " + tt.r.method + " " + tt.r.path + " tok=" + tt.r.tok
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, Options{Auth: tt.mode, MetricsAuth: tt.metrics, Tokens: []string{"other", testToken}})
			w := e.do(t, tt.r.method, tt.r.path, tt.r.body, tt.r.tok)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.want, w.Body)
			}
			switch tt.want {
			case 401:
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				wantError(t, w, 401, "", "missing token")
			case 403:
				wantError(t, w, 403, "", "invalid token")
			}
		})
	}
}

func TestBearerHeaderParsing(t *testing.T) {
	e := newEnv(t, Options{Auth: "token", Tokens: []string{testToken}})
	tests := []struct {
		header string
		want   int
	}{
		{"Bearer " + testToken, 200},
		{"bearer " + testToken, 200},
		{"Basic dXNlcjpwYXNz", 401},
		{"Bearer", 401},
		{"Bearer " + testToken + "x", 403},
		{"Bearer " + testToken[:len(testToken)-1], 403},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/api/v1/devices", nil)
		req.Header.Set("Authorization", tt.header)
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		if w.Code != tt.want {
			t.Errorf("Authorization %q: status %d, want %d", tt.header, w.Code, tt.want)
		}
	}
}
