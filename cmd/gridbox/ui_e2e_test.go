package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/sim"
	"golang.org/x/crypto/bcrypt"
)

// uiConfig is the gateway's config as a user writes it: comments, its own
// key order and ${ENV} secrets, which editing devices in the UI must keep.
const uiConfig = `# gridbox for the web UI test
site: uitest
http:
  listen: %q
  auth: %s
  tokens: ["${GB_UI_TOKEN}"] # for scripts
  users:
    - {name: admin, password: "${GB_UI_ADMIN}", role: admin}
    - {name: guest, password_hash: %q, role: viewer}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q}
control:
  - {actuator: room/setpoint, sensor: room/temperature}
devices:
  # the heating room
  - id: room
    driver: modbus
    url: %q
    profile: demo-room
    interval: 1s
  - {id: pv, driver: modbus, url: %q, profile: sma-stp, interval: 1s} # roof
  - {id: meter, driver: modbus, url: %q, profile: janitza-umg96rm, interval: 1s}
`

// artifacts is where the test leaves its screenshots: $GRIDBOX_ARTIFACTS or a temp dir.
func artifacts(t *testing.T) string {
	if d := os.Getenv("GRIDBOX_ARTIFACTS"); d != "" {
		d = filepath.Join(d, "ui")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// startUIGateway runs `gridbox run` in-process (with its config controller)
// on the demo's simulators and returns the API address, the config path,
// the URL of a spare simulator and how to stop the gateway.
func startUIGateway(t *testing.T, auth string) (addr, path, spareURL string, stop func()) {
	t.Setenv("GB_UI_TOKEN", "script-token")
	t.Setenv("GB_UI_ADMIN", "admin-secret")
	simCtx, stopSims := context.WithCancel(context.Background())
	t.Cleanup(stopSims)
	urls := map[string]string{}
	for _, s := range []struct{ id, profile string }{{"room", "demo-room"}, {"pv", "sma-stp"}, {"meter", "janitza-umg96rm"}, {"spare", "demo-room"}} {
		srv, err := sim.Start(simCtx, s.profile, "127.0.0.1:0", 0, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("simulator %s: %v", s.profile, err)
		}
		t.Cleanup(func() { srv.Close() })
		urls[s.id] = "tcp://" + srv.Addr()
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("guest-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr = testenv.FreeAddr(t)
	path = filepath.Join(dir, "gridbox.yaml")
	src := fmt.Sprintf(uiConfig, addr, auth, hash, filepath.Join(dir, "data"), urls["room"], urls["pv"], urls["meter"])
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	stop = runUIGateway(t, path)
	return addr, path, urls["spare"], stop
}

// runUIGateway runs `gridbox run -c path` in-process until it answers
// stop, or the test ends.
func runUIGateway(t *testing.T, path string) (stop func()) {
	t.Helper()
	cfg, code := loadConfig(path, os.Stderr)
	if cfg == nil {
		t.Fatalf("load: exit %d", code)
	}
	ctl, err := newController(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	up := make(chan struct{})
	done := make(chan int)
	logs := &testenv.Buffer{}
	go func() {
		done <- runGateway(ctx, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})), logs, func(*gateway.Gateway) { once.Do(func() { close(up) }) }, ctl)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	var stopOnce sync.Once
	stop = func() { stopOnce.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	select {
	case <-up:
	case code := <-done:
		t.Fatalf("gateway stopped: exit %d", code)
	}
	return stop
}

// TestUIEndToEnd drives the web UI in headless Chromium against a running
// gateway with the demo devices.
func TestUIEndToEnd(t *testing.T) {
	testenv.Tool(t, "chromium")
	addr, path, spareURL, _ := startUIGateway(t, "token")
	base := "http://" + addr
	checkAPIAccess(t, base)
	b := newBrowser(t, base)

	// Log in.
	b.run("open the UI", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`form.login`))
	b.shot("login")
	b.audit("login")
	b.login("admin", "admin-secret")
	b.eventually("the overview's PV power", `[...document.querySelectorAll("#flow .node.pv b")].some(b => /W$/.test(b.textContent))`)
	paint := b.str(`String((performance.getEntriesByName("first-contentful-paint")[0] || {startTime: -1}).startTime)`)
	t.Logf("overview: first contentful paint %s ms after navigation", paint)
	if b.str(`String(JSON.stringify({...sessionStorage, ...localStorage}).includes("admin-secret"))`) != "false" {
		t.Error("the UI keeps the password in web storage")
	}
	b.eventually("the embedded broker's health", `/^connected\s*embedded, [0-9]+ clients?\s*[1-9][0-9]* messages in/.test(document.getElementById("health-broker").textContent.replace("MQTT broker", ""))`)
	b.eventually("the store's health", `document.getElementById("health-store").textContent.includes("keeping history")`)
	b.shot("overview")
	b.audit("overview")
	b.keyboard("overview", 8)
	b.responsive("overview")

	// Live values change.
	b.run("datapoints", chromedp.Navigate(base+"/#/datapoints"), chromedp.WaitVisible(`#points tbody tr`))
	valuesJS := `[...document.querySelectorAll("#points td[data-value]")].map(td => td.textContent).join("|")`
	b.eventually("values shown", `document.querySelectorAll("#points td[data-value]").length > 10`)
	first := b.str(valuesJS)
	b.eventually("a live value to change", valuesJS+` !== `+jsString(first))
	b.shot("datapoints")
	b.audit("datapoints")
	b.responsive("datapoints")

	// A chart with history.
	b.eventually("history of the room temperature", `fetch("/api/v1/datapoints/room/temperature/history", {headers: {Authorization: "Bearer " + sessionStorage.getItem("gridbox.token")}}).then(r => r.json()).then(d => d.samples.length > 2)`)
	b.run("chart", chromedp.Navigate(base+"/#/dp/room/temperature"), chromedp.WaitVisible(`#chart canvas`))
	b.eventually("samples in the chart", `/^[1-9][0-9]* samples/.test(document.getElementById("chart-info").textContent)`)
	b.shot("chart")

	// Write the room setpoint: answered and applied; a refused write explained.
	b.run("setpoint page", chromedp.Navigate(base+"/#/dp/room/setpoint"), chromedp.WaitVisible(`#write input[name=value]`))
	b.run("write 22", chromedp.SendKeys(`#write input[name=value]`, "22"), chromedp.Click(`#write button[type=submit]`))
	b.eventually("the write answered", `[...document.querySelectorAll("#answers li.ok")].some(li => li.textContent.includes("applied"))`)
	b.eventually("the setpoint applied", `document.getElementById("dp-value").textContent.startsWith("22")`)
	b.fill(`#write input[name=value]`, "35")
	b.run("write 35", chromedp.Click(`#write button[type=submit]`))
	b.eventually("the refusal explained", `[...document.querySelectorAll("#answers li.bad")].some(li => li.textContent.includes("refused") && li.textContent.includes("30"))`)
	b.shot("write")
	b.audit("setpoint page")
	uiControl(b)
	b.responsive("setpoint")

	// Add a device through the form generated from the driver's schema,
	// see it poll, edit and remove it again.
	b.run("devices", chromedp.Navigate(base+"/#/devices"), chromedp.WaitVisible(`#add-device select[name=driver]`))
	b.eventually("drivers listed", `document.querySelectorAll("#add-device select[name=driver] option").length > 3`)
	b.choose(`#add-device select[name=driver]`, "modbus")
	b.run("the modbus fields", chromedp.WaitVisible(`#add-device input[name=url]`))
	b.eventually("the schema's defaults and descriptions", `document.querySelector("#add-device input[name=interval]").placeholder === "5s" && document.getElementById("f-url-d").textContent.includes("tcp://")`)
	b.fill(`#add-device input[name=id]`, "office")
	b.fill(`#add-device input[name=url]`, spareURL)
	b.fill(`#add-device input[name=profile]`, "demo-room")
	b.fill(`#add-device input[name=unit]`, "300")
	b.run("add with a unit id out of range", chromedp.Click(`#add-device button[type=submit]`))
	b.eventually("the check's refusal shown", `(document.getElementById("device-msg") || {}).className?.includes("bad") && document.getElementById("device-msg").textContent.includes("300 is out of 0..247")`)
	b.shot("device-refused")
	b.fill(`#add-device input[name=unit]`, "")
	b.fill(`#add-device input[name=interval]`, "1s")
	b.run("add", chromedp.Click(`#add-device button[type=submit]`))
	b.eventually("the device added", `(document.getElementById("device-msg") || {}).textContent?.includes("Added office")`)
	b.eventually("the new device polling", `(() => { const c = document.querySelector('[data-device="office"]'); return !!c && c.textContent.includes("online") && !/\b0 polls/.test(c.textContent) })()`)
	b.shot("device-added")
	b.audit("devices")
	b.responsive("devices")
	b.run("edit", chromedp.Click(`button[aria-label="Edit device office"]`), chromedp.WaitVisible(`[data-device="office"] textarea[name=entry]`))
	b.eventually("the entry to edit", `document.querySelector('[data-device="office"] textarea').value.includes("profile: demo-room")`)
	b.eval(`(() => { const a = document.querySelector('[data-device="office"] textarea'); a.value = a.value.replace("interval: 1s", "interval: 2s"); return true })()`)
	b.run("save", chromedp.Click(`[data-device="office"] button[type=submit]`))
	b.eventually("the device saved", `(document.getElementById("device-msg") || {}).textContent?.includes("Saved office")`)
	b.eventually("the edited device polling", `(() => { const c = document.querySelector('[data-device="office"]'); return !!c && c.textContent.includes("online") && !/\b0 polls/.test(c.textContent) })()`)
	if data, err := os.ReadFile(path); err != nil || !strings.Contains(string(data), "interval: 2s") {
		t.Errorf("edited entry not in the config (%v):\n%s", err, data)
	}
	b.eval(`window.__errs = []; addEventListener("error", (e) => __errs.push(e.message)); addEventListener("unhandledrejection", (e) => __errs.push(String(e.reason && e.reason.stack || e.reason))); true`)
	b.run("remove", chromedp.Click(`button[aria-label="Remove device office"]`), chromedp.Click(`button[aria-label="Confirm: remove device office"]`))
	b.eventually("the device gone", `!document.querySelector('[data-device="office"]') && document.querySelectorAll("[data-device]").length === 3`)
	b.shot("device-removed")
	checkConfigKept(t, path)
	uiScan(b, strings.TrimPrefix(spareURL, "tcp://"))

	b.run("log out", chromedp.Click(`#logout`), chromedp.WaitVisible(`form.login`))
	uiViewer(b)
	t.Logf("screenshots in %s", b.shots)
}

// checkAPIAccess: with auth token nothing is readable or writable without a
// login, and a viewer reads but cannot write or change the config.
func checkAPIAccess(t *testing.T, base string) {
	t.Helper()
	do := func(method, path, tok, body string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct{ method, path string }{{"GET", "/api/v1/datapoints"}, {"GET", "/api/v1/devices"}, {"GET", "/api/v1/stream"},
		{"GET", "/api/v1/status"}, {"PUT", "/api/v1/datapoints/room/setpoint/value"}, {"POST", "/api/v1/devices"}, {"DELETE", "/api/v1/devices/room"}} {
		if code := do(c.method, c.path, "", `{"value": 21}`); code != http.StatusUnauthorized {
			t.Errorf("%s %s without login: %d, want 401", c.method, c.path, code)
		}
	}
	if code := do("POST", "/api/v1/login", "", `{"name": "guest", "password": "wrong"}`); code != http.StatusUnauthorized {
		t.Errorf("login with a wrong password: %d, want 401", code)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/login", strings.NewReader(`{"name": "guest", "password": "guest-secret"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	_, _ = fmt.Fprint(&buf, readAll(resp))
	tok := between(buf.String(), `"token":"`, `"`)
	if resp.StatusCode != 200 || !strings.HasPrefix(tok, "gbs_") || !strings.Contains(buf.String(), `"expires":`) {
		t.Fatalf("viewer login: %d %s", resp.StatusCode, buf.String())
	}
	if code := do("GET", "/api/v1/datapoints", tok, ""); code != 200 {
		t.Errorf("viewer read: %d, want 200", code)
	}
	if code := do("PUT", "/api/v1/datapoints/room/setpoint/value", tok, `{"value": 21}`); code != http.StatusForbidden {
		t.Errorf("viewer write: %d, want 403", code)
	}
	if code := do("DELETE", "/api/v1/devices/room", tok, ""); code != http.StatusForbidden {
		t.Errorf("viewer config change: %d, want 403", code)
	}
	if code := do("POST", "/api/v1/logout", tok, ""); code != http.StatusNoContent {
		t.Errorf("logout: %d", code)
	}
	if code := do("GET", "/api/v1/datapoints", tok, ""); code != http.StatusUnauthorized {
		t.Errorf("read after logout: %d, want 401", code)
	}
}

// checkConfigKept: after adding and removing a device the file passes the
// check and keeps comments, key order and ${ENV} references.
func checkConfigKept(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for _, want := range []string{"# gridbox for the web UI test", "# the heating room", "# roof", "# for scripts", "${GB_UI_TOKEN}", "${GB_UI_ADMIN}"} {
		if !strings.Contains(s, want) {
			t.Errorf("config lost %q:\n%s", want, s)
		}
	}
	order := []string{"site:", "http:", "mqtt:", "store:", "devices:", "id: room", "id: pv", "id: meter"}
	last := -1
	for _, k := range order {
		i := strings.Index(s, k)
		if i < last {
			t.Errorf("key order changed at %q:\n%s", k, s)
		}
		last = i
	}
	if strings.Contains(s, "office") {
		t.Errorf("removed device still in the config:\n%s", s)
	}
	if _, err := os.Stat(path + ".bak"); err != nil {
		t.Errorf("no previous version kept: %v", err)
	}
	if code, out, errs := runCmd("check", "-c", path); code != exitOK {
		t.Errorf("gridbox check: exit %d %s %s\n%s", code, out, errs, s)
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
