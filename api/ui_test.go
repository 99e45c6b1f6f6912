package api

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/internal/testenv"
)

// uiHarness runs the page's script against a minimal fake DOM and API, sets
// the setpoint through its Set button several times and prints each message
// shown, with its class, as JSON.
const uiHarness = `
const fs = require("fs"), vm = require("vm");
class El {
  constructor(tag) { Object.assign(this, { tagName: tag.toUpperCase(), children: [], rows: [], cells: [], textContent: "", className: "", dataset: {}, value: "", title: "", placeholder: "" }); }
  insertRow() { const r = new El("tr"); this.rows.push(r); this.children.push(r); return r; }
  insertCell() { const c = new El("td"); this.cells.push(c); this.children.push(c); return c; }
  append(...n) { this.children.push(...n); }
  replaceChildren(...n) { this.children = n; this.rows = []; this.cells = []; }
}
const ids = {};
globalThis.document = { getElementById: (id) => ids[id] || (ids[id] = new El("span")), createElement: (t) => new El(t), querySelector: () => null };
globalThis.window = { addEventListener() {} };
globalThis.sessionStorage = { getItem: () => null, setItem() {} };
globalThis.CSS = { escape: (s) => s };
globalThis.EventSource = class { addEventListener() {} close() {} };
let msg = null, answer = null;
const shown = [];
const show = (step) => shown.push({ step, text: msg.textContent, class: msg.className });
globalThis.fetch = async (path, opts = {}) => {
  const ok = (data) => ({ status: 200, json: async () => data });
  if (path === "/healthz") return ok({ version: "test" });
  if (path === "/api/v1/devices") return ok([{ id: "room", driver: "sim", online: true, last_seen: 0, error: "", polls: 0, errors: 0 }]);
  if (path === "/api/v1/datapoints") return ok([{ device: "room", name: "setpoint", kind: "actuator", format: "continuous_numeric",
    unit: "°C", min: 5, max: 30, allowed: null, description: "", role: "", value: null }]);
  show("pending");
  if (answer instanceof Error) throw answer;
  return { status: answer.status, json: async () => answer.data };
};
(async () => {
  vm.runInThisContext(fs.readFileSync(process.argv[2], "utf8"));
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
  const [input, , btn, m] = ids.points.rows[0].cells[6].children;
  msg = m;
  const set = async (step, text, a) => { input.value = text; answer = a; await btn.onclick().catch(() => {}); show(step); };
  await set("ok", "22", { status: 200, data: { ok: true, value: 22, timestamp: 1 } });
  await set("not a number", "abc", null);
  await set("ok again", "23", { status: 200, data: { ok: true, value: 23, timestamp: 2 } });
  await set("empty", "", null);
  await set("refused", "35", { status: 422, data: { error: "above max 30", field: "value" } });
  await set("network", "20", new Error("network down"));
  console.log(JSON.stringify(shown));
})().catch((e) => { console.error(e); process.exit(1); });
`

// TestUIWriteMessageStyle: every message of the Set button carries its own
// style — a refusal is shown as an error even right after a success.
func TestUIWriteMessageStyle(t *testing.T) {
	node := testenv.Tool(t, "node") // skipped locally without node, a failure in CI
	page := string(indexHTML)
	_, script, ok := strings.Cut(page, "<script>")
	script, _, ok2 := strings.Cut(script, "</script>")
	if !ok || !ok2 {
		t.Fatal("index.html has no <script> element")
	}
	dir := t.TempDir()
	scriptPath, harnessPath := filepath.Join(dir, "page.js"), filepath.Join(dir, "harness.js")
	if err := os.WriteFile(scriptPath, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(harnessPath, []byte(uiHarness), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(node, harnessPath, scriptPath)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	type shown struct{ Step, Text, Class string }
	var got []shown
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("harness output %q: %v", out, err)
	}
	want := []shown{
		{"pending", "…", "msg busy"},
		{"ok", "ok: 22", "msg ok"},
		{"not a number", "enter a number", "msg err"},
		{"pending", "…", "msg busy"},
		{"ok again", "ok: 23", "msg ok"},
		{"empty", "enter a number", "msg err"},
		{"pending", "…", "msg busy"},
		{"refused", "422: above max 30", "msg err"},
		{"pending", "…", "msg busy"},
		{"network", "not sent: network down", "msg err"},
	}
	if len(got) != len(want) {
		t.Fatalf("messages %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestUIMessageClassesStyled: the classes the Set button uses have a style.
func TestUIMessageClassesStyled(t *testing.T) {
	page := string(indexHTML)
	for _, sel := range []string{".msg.ok {", ".msg.err {", ".msg.busy {"} {
		if !strings.Contains(page, sel) {
			t.Errorf("index.html has no style for %s", strings.TrimSuffix(sel, " {"))
		}
	}
	if strings.Contains(page, "msg.textContent =") && strings.Count(page, "msg.textContent =") != 1 {
		t.Error("index.html sets a write message without showMsg, which sets its class too")
	}
}
