package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestHeaderTooLargeHandler: a header over HeaderLimit is answered 431 with
// the JSON error body and the connection closed; one under it is served.
func TestHeaderTooLargeHandler(t *testing.T) {
	e := newEnv(t, Options{})
	req := httptest.NewRequest("GET", "/api/v1/devices", nil)
	req.Header.Set("X-Big", strings.Repeat("a", HeaderLimit))
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	wantError(t, w, http.StatusRequestHeaderFieldsTooLarge, "", "request header is larger than 65536 bytes")
	if c := w.Header().Get("Connection"); c != "close" {
		t.Errorf("Connection %q, want close", c)
	}
	if got := testutil.ToFloat64(e.srv.requests.WithLabelValues("unmatched", "431")); got != 1 {
		t.Errorf(`requests{route="unmatched",code="431"} = %v, want 1`, got)
	}

	req = httptest.NewRequest("GET", "/api/v1/devices", nil)
	req.Header.Set("X-Big", strings.Repeat("a", HeaderLimit-1024))
	w = httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Errorf("header of %d bytes: status %d, want 200", HeaderLimit-1024, w.Code)
	}

	// The request line counts too: a 100 kB path is not echoed in a 404 but refused.
	w = e.do(t, "GET", "/api/v1/"+strings.Repeat("x", 100<<10), "", "")
	wantError(t, w, http.StatusRequestHeaderFieldsTooLarge, "", "request header is larger")
	if w.Body.Len() > 200 {
		t.Errorf("431 answer is %d bytes", w.Body.Len())
	}
}

// TestHeaderTooLargeServer: through a real http.Server, with MaxHeaderBytes
// as gateway sets it (unset, net/http's default) and as api.MaxHeaderBytes,
// every oversized header up to MaxHeaderBytes gets the JSON 431, never
// net/http's own plain-text one.
func TestHeaderTooLargeServer(t *testing.T) {
	if MaxHeaderBytes < 4*HeaderLimit || MaxHeaderBytes > http.DefaultMaxHeaderBytes {
		t.Fatalf("MaxHeaderBytes %d: want well above HeaderLimit %d, at most net/http's default", MaxHeaderBytes, HeaderLimit)
	}
	for _, limit := range []int{0, MaxHeaderBytes} {
		e := newEnv(t, Options{})
		ts := httptest.NewUnstartedServer(e.h)
		ts.Config.MaxHeaderBytes = limit
		ts.Start()
		t.Cleanup(ts.Close)
		for _, size := range []int{HeaderLimit + 1, 4 * HeaderLimit, MaxHeaderBytes - 1024} {
			req, err := http.NewRequest("GET", ts.URL+"/api/v1/devices", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Big", strings.Repeat("a", size))
			res, err := ts.Client().Do(req)
			if err != nil {
				t.Fatalf("MaxHeaderBytes %d, header %d: %v", limit, size, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var answer map[string]any
			if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") ||
				json.Unmarshal(body, &answer) != nil || answer["error"] == nil {
				t.Errorf("MaxHeaderBytes %d, header %d: %d %q %q, want 431 with a JSON error", limit, size, res.StatusCode, res.Header.Get("Content-Type"), body)
			}
		}
		res, err := ts.Client().Get(ts.URL + "/api/v1/devices")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("MaxHeaderBytes %d: plain request %d, want 200", limit, res.StatusCode)
		}
	}
}
