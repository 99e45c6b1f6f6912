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
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
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
  auth: token
  tokens: ["${GB_UI_TOKEN}"] # for scripts
  users:
    - {name: admin, password: "${GB_UI_ADMIN}", role: admin}
    - {name: guest, password_hash: %q, role: viewer}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q}
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
// on the demo's simulators and returns the API address and config path.
func startUIGateway(t *testing.T) (addr, path, spareURL string) {
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
	src := fmt.Sprintf(uiConfig, addr, hash, filepath.Join(dir, "data"), urls["room"], urls["pv"], urls["meter"])
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
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
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-up:
	case code := <-done:
		t.Fatalf("gateway stopped: exit %d", code)
	}
	return addr, path, urls["spare"]
}

// TestUIEndToEnd drives the web UI in headless Chromium against a running
// gateway with the demo devices.
func TestUIEndToEnd(t *testing.T) {
	chromium := testenv.Tool(t, "chromium") // skipped locally without it, a failure in CI
	addr, path, spareURL := startUIGateway(t)
	base := "http://" + addr
	shots := artifacts(t)
	checkAPIAccess(t, base)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	ctx := bctx // the first call starts the browser: no timeout on it (each step has its own)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v\npage:\n%s", what, err, text)
		}
	}
	eval := func(js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](js)); err != nil {
			t.Fatalf("%s: %v", js, err)
		}
	}
	media := func(scheme string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
			return err
		})
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// eventually polls a JavaScript condition in the page.
	eventually := func(what, js string) {
		t.Helper()
		defer func() {
			if t.Failed() {
				text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__errs) + "\n" + document.body.innerText.slice(0, 400)`))
				t.Logf("page (%v):\n%s", err, text)
			}
		}()
		testenv.Eventually(t, 60*time.Second, what, func() bool {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
			return err == nil && ok
		})
	}

	// Log in.
	run("open the UI", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`form.login`))
	shot("login")
	run("log in", chromedp.SendKeys(`input[name=name]`, "admin"), chromedp.SendKeys(`input[name=password]`, "admin-secret"),
		chromedp.Click(`form.login button[type=submit]`), chromedp.WaitVisible(`#flow`))
	eventually("the overview's PV power", `[...document.querySelectorAll("#flow .node.pv b")].some(b => /W$/.test(b.textContent))`)
	paint, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(performance.getEntriesByName("first-contentful-paint")[0] || {startTime: -1}).startTime`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("overview: first contentful paint %.0f ms after navigation", paint)
	stored, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`JSON.stringify({...sessionStorage, ...localStorage}).includes("admin-secret")`))
	if err != nil || stored {
		t.Error("the UI keeps the password in web storage")
	}
	shot("overview")
	run("narrow dark overview", chromedp.EmulateViewport(360, 780), media("dark"))
	shot("overview-360-dark")
	run("wide light", chromedp.EmulateViewport(1280, 900), media("light"))

	// Live values change.
	run("datapoints", chromedp.Navigate(base+"/#/datapoints"), chromedp.WaitVisible(`#points tbody tr`))
	valuesJS := `[...document.querySelectorAll("#points td[data-value]")].map(td => td.textContent).join("|")`
	eventually("values shown", `document.querySelectorAll("#points td[data-value]").length > 10`)
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](valuesJS))
	if err != nil {
		t.Fatal(err)
	}
	eventually("a live value to change", valuesJS+` !== `+jsString(first))
	shot("datapoints")

	// A chart with history.
	eventually("history of the room temperature", `fetch("/api/v1/datapoints/room/temperature/history", {headers: {Authorization: "Bearer " + sessionStorage.getItem("gridbox.token")}}).then(r => r.json()).then(d => d.samples.length > 2)`)
	run("chart", chromedp.Navigate(base+"/#/dp/room/temperature"), chromedp.WaitVisible(`#chart canvas`))
	eventually("samples in the chart", `/^[1-9][0-9]* samples/.test(document.getElementById("chart-info").textContent)`)
	shot("chart")

	// Write the room setpoint: answered and applied; a refused write explained.
	run("setpoint page", chromedp.Navigate(base+"/#/dp/room/setpoint"), chromedp.WaitVisible(`#write input[name=value]`))
	run("write 22", chromedp.SendKeys(`#write input[name=value]`, "22"), chromedp.Click(`#write button[type=submit]`))
	eventually("the write answered", `[...document.querySelectorAll("#answers li.ok")].some(li => li.textContent.includes("applied"))`)
	eventually("the setpoint applied", `document.getElementById("dp-value").textContent.startsWith("22")`)
	eval(`document.querySelector("#write input[name=value]").value = ""`)
	run("write 35", chromedp.SendKeys(`#write input[name=value]`, "35"), chromedp.Click(`#write button[type=submit]`))
	eventually("the refusal explained", `[...document.querySelectorAll("#answers li.bad")].some(li => li.textContent.includes("refused") && li.textContent.includes("30"))`)
	shot("write")

	// Add a device from a profile, see it poll, remove it again.
	run("devices", chromedp.Navigate(base+"/#/devices"), chromedp.WaitVisible(`#add-device select[name=profile]`))
	eventually("profiles listed", `document.querySelectorAll("#add-device option").length > 3`)
	eval(`(() => { const s = document.querySelector("#add-device select[name=profile]"); s.value = "demo-room"; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`)
	run("choose profile", chromedp.WaitVisible(`#add-device input[name=url]`))
	run("fill the form", chromedp.SendKeys(`#add-device input[name=id]`, "office"), chromedp.SendKeys(`#add-device input[name=url]`, spareURL),
		chromedp.SendKeys(`#add-device input[name=interval]`, "1s"), chromedp.Click(`#add-device button[type=submit]`))
	eventually("the device added", `(document.getElementById("device-msg") || {}).textContent?.includes("Added office")`)
	eventually("the new device polling", `(() => { const c = document.querySelector('[data-device="office"]'); return !!c && c.textContent.includes("online") && !/\b0 polls/.test(c.textContent) })()`)
	shot("device-added")
	run("edit", chromedp.Click(`button[aria-label="Edit device office"]`), chromedp.WaitVisible(`[data-device="office"] textarea[name=entry]`))
	eventually("the entry to edit", `document.querySelector('[data-device="office"] textarea').value.includes("profile: demo-room")`)
	eval(`(() => { const a = document.querySelector('[data-device="office"] textarea'); a.value = a.value.replace("interval: 1s", "interval: 2s"); return true })()`)
	run("save", chromedp.Click(`[data-device="office"] button[type=submit]`))
	eventually("the device saved", `(document.getElementById("device-msg") || {}).textContent?.includes("Saved office")`)
	eventually("the edited device polling", `(() => { const c = document.querySelector('[data-device="office"]'); return !!c && c.textContent.includes("online") && !/\b0 polls/.test(c.textContent) })()`)
	if data, err := os.ReadFile(path); err != nil || !strings.Contains(string(data), "interval: 2s") {
		t.Errorf("edited entry not in the config (%v):\n%s", err, data)
	}
	eval(`window.__errs = []; addEventListener("error", (e) => __errs.push(e.message)); addEventListener("unhandledrejection", (e) => __errs.push(String(e.reason && e.reason.stack || e.reason))); true`)
	run("remove", chromedp.Click(`button[aria-label="Remove device office"]`), chromedp.Click(`button[aria-label="Confirm: remove device office"]`))
	eventually("the device gone", `!document.querySelector('[data-device="office"]') && document.querySelectorAll("[data-device]").length === 3`)
	shot("device-removed")
	checkConfigKept(t, path)

	run("log out", chromedp.Click(`#logout`), chromedp.WaitVisible(`form.login`))
	t.Logf("screenshots in %s", shots)
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
