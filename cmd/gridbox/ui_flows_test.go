package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gridbox/gridbox/internal/testenv"
)

// uiControl drives the room setpoint's control forms: a setpoint is
// decided and written, a schedule within its flexibility wins, an item out
// of the actuator's limits is refused with the reason; then both are cleared.
func uiControl(b *browser) {
	b.t.Helper()
	b.run("control forms", chromedp.WaitVisible(`#setpoint-form`), chromedp.WaitVisible(`#schedule-form`))
	b.fill(`#sp-pref`, "23")
	b.fill(`#sp-min`, "5")
	b.fill(`#sp-max`, "30")
	b.run("save the setpoint", chromedp.Click(`#setpoint-form button[type=submit]`))
	b.eventually("the setpoint saved", `(document.getElementById("ctl-msg") || {}).textContent === "setpoint saved"`)
	b.eventually("the setpoint listed", `document.getElementById("setpoint-items").textContent.includes("23 °C preferred")`)
	b.eventually("the setpoint decided and written", `document.getElementById("ctl-decision").textContent.includes("Decided: 23") && document.getElementById("dp-value").textContent.startsWith("23")`)
	b.fill(`#sc-val`, "24")
	b.run("save the schedule", chromedp.Click(`#schedule-form button[type=submit]`))
	b.eventually("the schedule saved", `(document.getElementById("ctl-msg") || {}).textContent === "schedule saved"`)
	b.eventually("the schedule decided and written", `document.getElementById("ctl-decision").textContent.includes("Decided: 24") && document.getElementById("dp-value").textContent.startsWith("24")`)
	b.shot("control")
	b.fill(`#sp-pref`, "40")
	b.run("save a setpoint beyond the limit", chromedp.Click(`#setpoint-form button[type=submit]`))
	b.eventually("the refusal explained", `/setpoint refused: .*preferred_value.*30/.test((document.getElementById("ctl-msg") || {}).textContent)`)
	b.shot("control-refused")
	b.run("clear the schedule", chromedp.Click(`#schedule-form button[type=button]`))
	b.eventually("the schedule cleared", `(document.getElementById("ctl-msg") || {}).textContent === "schedule cleared" && document.getElementById("schedule-items").textContent.includes("No schedule")`)
	b.run("clear the setpoint", chromedp.Click(`#setpoint-form button[type=button]`))
	b.eventually("the setpoint cleared", `(document.getElementById("ctl-msg") || {}).textContent === "setpoint cleared" && document.getElementById("setpoint-items").textContent.includes("No setpoint")`)
}

// uiScan runs a scan of the spare simulator from the devices page and
// takes its result into the device form.
func uiScan(b *browser, spare string) {
	b.t.Helper()
	b.run("scan form", chromedp.WaitVisible(`#scan-targets`))
	b.fill(`#scan-targets`, spare)
	b.fill(`#scan-units`, "1")
	b.fill(`#scan-timeout`, "300ms")
	b.run("run the scan", chromedp.Click(`#scan button[type=submit]`))
	b.eventually("the scan's result", `!!document.querySelector('#scan-results tr[data-endpoint="`+spare+`/1"]') && document.getElementById("scan-msg").textContent.includes("1 units found")`)
	b.shot("scan")
	b.run("add this device", chromedp.Click(`#scan-results tr[data-endpoint="`+spare+`/1"] button`))
	b.eventually("the form prefilled", `document.querySelector("#add-device select[name=driver]").value === "modbus" && document.querySelector("#add-device input[name=url]").value === "tcp://`+spare+`" && document.querySelector("#add-device input[name=unit]").value === "1" && document.querySelector("#add-device input[name=id]").value.includes("u1")`)
	b.shot("scan-prefilled")
}

// uiViewer logs in as a viewer: values are readable, the write and
// control forms are disabled with the reason, and a write is refused.
func uiViewer(b *browser) {
	b.t.Helper()
	b.login("guest", "guest-secret")
	b.run("setpoint page", chromedp.Navigate(b.base+"/#/dp/room/setpoint"), chromedp.WaitVisible(`#write`))
	b.eventually("the value readable", `/[0-9]/.test(document.getElementById("dp-value").textContent)`)
	b.eventually("the write form disabled with the reason", `document.querySelector("#write fieldset").disabled && document.getElementById("write-note").textContent.includes("viewer")`)
	b.eventually("no control forms", `!document.getElementById("setpoint-form") && !!document.getElementById("ctl-decision")`)
	refused := b.str(`fetch("/api/v1/datapoints/room/setpoint/value", {method: "PUT", headers: {Authorization: "Bearer " + sessionStorage.getItem("gridbox.token")}, body: '{"value": 21}'}).then(r => r.json().then(d => r.status + " " + d.error))`)
	if !strings.HasPrefix(refused, "403 ") || !strings.Contains(refused, "viewer") {
		b.t.Errorf("a viewer's write: %s, want 403 naming the viewer", refused)
	}
	b.shot("viewer")
	b.audit("viewer setpoint page")
	b.run("devices as viewer", chromedp.Navigate(b.base+"/#/devices"), chromedp.WaitVisible(`#viewer-note`))
	b.eventually("no device forms", `!document.getElementById("add-device") && !document.querySelector('button[aria-label^="Remove device"]')`)
	b.run("log out", chromedp.Click(`#logout`), chromedp.WaitVisible(`form.login`))
}

// TestUIReadOpen: with http.auth read-open everything is readable without a
// login and writes are disabled with the reason; after logging in as an
// admin the write goes through.
func TestUIReadOpen(t *testing.T) {
	testenv.Tool(t, "chromium")
	addr, _, _, _ := startUIGateway(t, "read-open")
	base := "http://" + addr
	for _, c := range []struct {
		method, path string
		want         int
	}{{"GET", "/api/v1/datapoints", 200}, {"GET", "/api/v1/status", 200}, {"PUT", "/api/v1/datapoints/room/setpoint/value", 401}, {"DELETE", "/api/v1/devices/room", 401}} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(`{"value": 21}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s without login: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
	}
	b := newBrowser(t, base)
	b.run("open the UI", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`#flow`), chromedp.WaitVisible(`#login`))
	b.eventually("live values without a login", `[...document.querySelectorAll("#flow .node.pv b")].some(b => /W$/.test(b.textContent))`)
	b.run("setpoint page", chromedp.Navigate(base+"/#/dp/room/setpoint"), chromedp.WaitVisible(`#write`))
	b.eventually("the write form disabled with the reason", `document.querySelector("#write fieldset").disabled && document.getElementById("write-note").textContent.includes("login as an admin")`)
	b.shot("read-open")
	b.audit("read-open setpoint page")
	b.run("log in to write", chromedp.Click(`#login`))
	b.login("admin", "admin-secret")
	b.run("setpoint page", chromedp.Navigate(base+"/#/dp/room/setpoint"), chromedp.WaitVisible(`#write input[name=value]`))
	b.eventually("the write form enabled", `!document.querySelector("#write fieldset").disabled`)
	b.fill(`#write input[name=value]`, "21")
	b.run("write 21", chromedp.Click(`#write button[type=submit]`))
	b.eventually("the write answered", `[...document.querySelectorAll("#answers li.ok")].some(li => li.textContent.includes("applied"))`)
}

// TestSessionSurvivesRestart: a login outlives a restart of the gateway
// (a new runGateway has a new session store in memory, as a new process
// has: only the data directory's sessions.json carries it over); a logout
// outlives the next one.
func TestSessionSurvivesRestart(t *testing.T) {
	addr, path, _, stop := startUIGateway(t, "token")
	base := "http://" + addr
	call := func(method, p, tok, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+p, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readAll(resp)
	}
	code, body := call("POST", "/api/v1/login", "", `{"name": "admin", "password": "admin-secret"}`)
	tok := between(body, `"token":"`, `"`)
	if code != 200 || tok == "" {
		t.Fatalf("login: %d %s", code, body)
	}
	restart := func() {
		t.Helper()
		stop()
		stop = runUIGateway(t, path)
	}
	restart()
	if code, body := call("GET", "/api/v1/session", tok, ""); code != 200 || !strings.Contains(body, `"name":"admin"`) {
		t.Fatalf("session after a restart: %d %s", code, body)
	}
	if code, _ := call("GET", "/api/v1/datapoints", tok, ""); code != 200 {
		t.Fatalf("read after a restart: %d", code)
	}
	if code, _ := call("POST", "/api/v1/logout", tok, ""); code != http.StatusNoContent {
		t.Fatalf("logout: %d", code)
	}
	restart()
	if code, _ := call("GET", "/api/v1/datapoints", tok, ""); code != http.StatusUnauthorized {
		t.Errorf("read after logout and a restart: %d, want 401", code)
	}
}
