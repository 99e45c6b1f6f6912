package ocpp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/ocpp"
)

// TestOCPPRPCRefused: the independent client is refused at the upgrade
// with a wrong password or an unlisted id, and admitted with the right one.
func TestOCPPRPCRefused(t *testing.T) {
	cfg := ocpp.Kind().NewConfig().(*ocpp.Config)
	cfg.DataDir = t.TempDir()
	cfg.ChargePoints = []ocpp.ChargePoint{{ID: "CP-001", Password: "right-password"}}
	s, err := ocpp.NewServer(cfg, bus.New(), ocpp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ocpp/", s)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { hs.CloseClientConnections(); hs.Close(); s.Wait(); s.Close() })
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ocpp"
	for _, tc := range []struct{ id, pw, want string }{
		{"CP-001", "wrong-password", "refused"},
		{"CP-002", "right-password", "refused"},
		{"CP-001", "right-password", "open"},
	} {
		cp := startNodeCP(t, url, tc.id, tc.pw)
		got := cp.wait("connect "+tc.id, func(m map[string]any) bool { return m["event"] == "open" || m["event"] == "refused" })
		if got["event"] != tc.want {
			t.Errorf("%s with %s: %v, want %s", tc.id, tc.pw, got, tc.want)
		}
	}
}
