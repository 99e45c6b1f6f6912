package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/internal/testenv"
)

// fmtHarness imports the UI's formatting module and prints what it makes of
// a list of cases, as JSON.
const fmtHarness = `
const m = await import(process.argv[2]);
const out = {
  human: [[1234, "W"], [999, "W"], [0.5, "kW"], [2500000, "Wh"], [1.5, "MWh"], [-3400, "W"], [21.456, "°C"], [null, "W"], [true, ""], [2, "", null, {"2": "heating"}]].map((a) => m.human(...a)),
  watts: [m.watts(2, "kW"), m.watts(150, "W"), m.watts("x", "W")],
  bucket: [m.bucketFor(3600e3), m.bucketFor(86400e3), m.bucketFor(7 * 86400e3), m.bucketFor(30 * 86400e3), m.bucketFor(365 * 86400e3)],
  labels: m.enumLabels("Condition (35 fault, 303 off, 307 ok, 455 warning)"),
  nolabels: m.enumLabels("Room temperature setpoint (the device clips writes to 15…30)"),
  big: [m.human(1234567890, ""), m.human(12345, "V")],
  energy: m.energyWh([{timestamp: 0, value: 1000}, {timestamp: 1800e3, value: 1000}, {timestamp: 3600e3, value: -1000}, {timestamp: 5400e3, value: -1000}]),
};
console.log(JSON.stringify(out));
`

// TestUIFormat: units are shown with SI prefixes, enum names with their
// value, the chart's aggregation grows with the range (so a year stays a
// few hundred points), and power integrates to energy per direction.
func TestUIFormat(t *testing.T) {
	node := testenv.Tool(t, "node") // skipped locally without node, a failure in CI
	dir := t.TempDir()
	harness := filepath.Join(dir, "harness.mjs")
	if err := os.WriteFile(harness, []byte(fmtHarness), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs("ui/fmt.js")
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(node, harness, "file://"+abs)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got struct {
		Human    []string
		Watts    []*float64
		Bucket   []string
		Energy   struct{ Pos, Neg float64 }
		Labels   map[string]string
		NoLabels map[string]string
		Big      []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("harness output %q: %v", out, err)
	}
	wantHuman := []string{"1.23 kW", "999 W", "500 W", "2.5 MWh", "1.5 MWh", "-3.4 kW", "21.5 °C", "—", "on", "heating (2)"}
	if strings.Join(got.Human, "|") != strings.Join(wantHuman, "|") {
		t.Errorf("human: %q, want %q", got.Human, wantHuman)
	}
	if len(got.Watts) != 3 || got.Watts[0] == nil || *got.Watts[0] != 2000 || got.Watts[1] == nil || *got.Watts[1] != 150 || got.Watts[2] != nil {
		t.Errorf("watts: %v, want 2000, 150, null", got.Watts)
	}
	if want := "|15m|1h|6h|1d"; strings.Join(got.Bucket, "|") != want {
		t.Errorf("buckets %q, want %q", got.Bucket, want)
	}
	if got.Labels["307"] != "ok" || got.Labels["35"] != "fault" || len(got.Labels) != 4 || got.NoLabels != nil {
		t.Errorf("enum labels %v and %v", got.Labels, got.NoLabels)
	}
	if strings.Join(got.Big, "|") != "1234567890|12,345 V" {
		t.Errorf("big numbers %q", got.Big)
	}
	// 1 kW for 30 min = 500 Wh, the crossing to -1 kW nets 0, -1 kW for 30 min = 500 Wh back.
	if got.Energy.Pos != 500 || got.Energy.Neg != 500 {
		t.Errorf("energy %+v, want 500 Wh each way", got.Energy)
	}
}

// TestUIAssets: every file the page loads is served (gzip when accepted)
// with the policy that keeps it to its own origin, and the whole page
// stays small.
func TestUIAssets(t *testing.T) {
	s := newEnv(t, Options{Auth: "none"}).srv
	for _, path := range []string{"/", "/ui/app.js", "/ui/api.js", "/ui/pages.js", "/ui/point.js", "/ui/fmt.js", "/ui/devices.js", "/ui/schema.js", "/ui/schemaform.js", "/ui/scan.js", "/ui/control.js", "/ui/app.css",
		"/ui/vendor/htm-preact-standalone.module.js", "/ui/vendor/uPlot.iife.min.js", "/ui/vendor/uPlot.min.css", "/ui/vendor/LICENSE.uplot"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: %d, encoding %q", path, rec.Code, rec.Header().Get("Content-Encoding"))
		}
		if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: policy %q", path, rec.Header().Get("Content-Security-Policy"))
		}
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/app.js", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Header().Get("Content-Encoding") != "" || !strings.Contains(string(body), "render(") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("plain app.js: encoding %q, type %q", rec.Header().Get("Content-Encoding"), rec.Header().Get("Content-Type"))
	}
	raw, gz, err := PageWeight()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("page weight: %d bytes, %d bytes gzip-compressed", raw, gz)
	if gz >= 300<<10 {
		t.Errorf("page weight %d bytes compressed, want < 300 kB", gz)
	}
}
