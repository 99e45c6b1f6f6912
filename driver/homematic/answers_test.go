package homematic

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMalformedAnswers: bad XML, oversized bodies and wrong types in the
// CCU's answers fail the setup with an error naming them and are counted
// by kind.
func TestMalformedAnswers(t *testing.T) {
	for _, c := range []struct {
		name, body, kind, msg string
	}{
		{"truncated", `<methodResponse><params><param><value><array><data>`, "xml", "malformed XML-RPC"},
		{"oversized", `<methodResponse><params><param><value>` + strings.Repeat("x", 4096) + `</value></param></params></methodResponse>`, "oversized", "too large"},
		{"wrong type", `<methodResponse><params><param><value>devices</value></param></params></methodResponse>`, "type", "listDevices answered string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_, _ = w.Write([]byte(c.body))
			}))
			defer srv.Close()
			cfg := NewConfig()
			cfg.ID, cfg.URL, cfg.Callback, cfg.MaxBody = "ccu", srv.URL, "http://127.0.0.1:1", 1024
			reg := prometheus.NewRegistry()
			dev, err := NewDevice(cfg, driver.Env{Metrics: reg})
			if err != nil {
				t.Fatal(err)
			}
			d := dev.(*Device)
			err = d.setup(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("setup: %v, want %q", err, c.msg)
			}
			want := `
# HELP gridbox_driver_malformed_total Malformed device answers (bad JSON/XML, truncated, wrong type, oversized), by driver, device and kind.
# TYPE gridbox_driver_malformed_total counter
gridbox_driver_malformed_total{device="ccu",driver="homematic",kind="` + c.kind + `"} 1
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
