// Run a scan for Modbus TCP devices (POST /api/v1/scan, like `gridbox
// scan`) and add what it finds through the device form.
import { html, useState } from "/ui/vendor/htm-preact-standalone.module.js";
import { api, errText } from "/ui/api.js";

export function ScanPanel({ onAdd }) {
  const [busy, setBusy] = useState(false);
  const [res, setRes] = useState(null);
  const [msg, setMsg] = useState("");
  const submit = async (e) => {
    e.preventDefault();
    const f = (n) => e.target.elements.namedItem(n).value.trim();
    setBusy(true); setMsg("Scanning…"); setRes(null);
    const r = await api("/api/v1/scan", { method: "POST", body: { targets: f("targets"), units: f("units"), timeout: f("timeout") } });
    setBusy(false);
    if (!r.ok) { setMsg(r.status === 409 ? "Another scan is running; try again when it is done." : errText(r)); return; }
    setRes(r.data);
    setMsg(`${r.data.units.length} units found on ${r.data.answering} of ${r.data.endpoints} endpoints in ${(r.data.took_ms / 1000).toFixed(1)} s${r.data.partial ? " (stopped at the time limit)" : ""}.`);
  };
  return html`<section aria-labelledby="scanrun-h"><h2 id="scanrun-h">Scan the network</h2>
    <form class="devform" id="scan" onSubmit=${submit} aria-busy=${busy}>
      <div class="field"><label for="scan-targets">Targets</label>
        <input id="scan-targets" name="targets" required placeholder="192.168.1.0/24:502" aria-describedby="scan-targets-d" />
        <small class="muted" id="scan-targets-d">host:port or a range up to a /24 with its port, comma-separated</small></div>
      <div class="field"><label for="scan-units">Unit ids</label>
        <input id="scan-units" name="units" placeholder="1" aria-describedby="scan-units-d" />
        <small class="muted" id="scan-units-d">like 1, 1-3 or 1,126; default 1</small></div>
      <div class="field"><label for="scan-timeout">Timeout</label>
        <input id="scan-timeout" name="timeout" placeholder="500ms" aria-describedby="scan-timeout-d" />
        <small class="muted" id="scan-timeout-d">per connection and request, at most 5s</small></div>
      <div class="wide"><button class="primary" type="submit" disabled=${busy}>Run scan</button>
        <span id="scan-msg" role="status" class="muted"> ${msg}</span></div>
    </form>
    ${res && res.units.length ? html`<div class="scroll"><table id="scan-results"><thead><tr><th>Endpoint</th><th>Unit</th><th>Found</th><th><span class="sr-only">Action</span></th></tr></thead>
      <tbody>${res.units.map((u) => html`<tr data-endpoint=${u.endpoint + "/" + u.unit}>
        <td>${u.endpoint}</td><td>${u.unit}</td>
        <td>${u.sunspec ? "SunSpec device" : u.profiles.length ? `profile ${u.profiles.join(", ")}` : "no profile matched"}<div class="muted">${u.answer}</div></td>
        <td><button type="button" onClick=${() => onAdd({ ...u.entry })} aria-label=${`Add the device at ${u.endpoint} unit ${u.unit}`}>Add this device</button></td></tr>`)}</tbody></table></div>` : null}
  </section>`;
}
