// Devices: cards with state and poll statistics; for admins edit and
// remove, add through the generated form (schemaform.js), from a scan run
// here (scan.js) or from a pasted `gridbox scan` entry.
import { html, useState } from "/ui/vendor/htm-preact-standalone.module.js";
import { api, errText } from "/ui/api.js";
import { ago } from "/ui/fmt.js";
import { DeviceForm } from "/ui/schemaform.js";
import { ScanPanel } from "/ui/scan.js";

// fetchText gets a text answer (a YAML config entry) with the login token.
async function fetchText(path) {
  const tok = sessionStorage.getItem("gridbox.token");
  const r = await fetch(path, { headers: tok ? { Authorization: "Bearer " + tok } : {} });
  const text = await r.text();
  if (r.ok) return { ok: true, text };
  try { return { ok: false, text: JSON.parse(text).error }; } catch { return { ok: false, text: `HTTP ${r.status}` }; }
}

function DeviceCard({ d, canWrite, onMsg }) {
  const [sure, setSure] = useState(false);
  const [text, setText] = useState(null);
  const path = `/api/v1/devices/${encodeURIComponent(d.id)}`;
  const edit = async () => {
    if (text !== null) { setText(null); return; }
    const r = await fetchText(path + "/config");
    if (r.ok) setText(r.text); else onMsg({ ok: false, text: r.text });
  };
  const save = async (e) => {
    e.preventDefault();
    const r = await api(path, { method: "PUT", body: e.target.elements.namedItem("entry").value, headers: { "Content-Type": "application/yaml" } });
    onMsg(r.ok ? { ok: true, text: `Saved ${d.id}; the gateway applies the new config.` } : { ok: false, text: errText(r), problems: r.data && r.data.problems });
    if (r.ok) setText(null);
  };
  const remove = async () => {
    if (!sure) { setSure(true); return; }
    const r = await api(`/api/v1/devices/${encodeURIComponent(d.id)}`, { method: "DELETE" });
    onMsg(r.ok ? { ok: true, text: `Removed ${d.id}; the gateway applies the new config.` } : { ok: false, text: errText(r), problems: r.data && r.data.problems });
  };
  return html`<li class="card" data-device=${d.id}>
    <h3>${d.id} <small class="muted">${d.driver}</small></h3>
    <div class=${d.online ? "ok" : "bad"}>${d.online ? "online" : "offline"}</div>
    <div class="muted">last seen ${ago(d.last_seen)}</div>
    <div>${d.polls} polls, ${d.errors} errors</div>
    ${d.error ? html`<div class="bad">Last error: ${d.error}</div>` : null}
    ${canWrite ? html`<button type="button" onClick=${edit} aria-expanded=${text !== null} aria-label=${"Edit device " + d.id}>Edit</button> ` : null}
    ${text !== null ? html`<form onSubmit=${save} class="grid"><label style="flex-basis:100%">Config entry (YAML)
      <textarea name="entry" rows="7" value=${text}></textarea></label><button class="primary" type="submit">Save</button></form>` : null}
    ${canWrite ? html`<button type="button" class="danger" onClick=${remove} aria-label=${(sure ? "Confirm: remove device " : "Remove device ") + d.id}>${sure ? "Confirm removal" : "Remove"}</button>` : null}
  </li>`;
}

// FromScan adds a device from one entry of `gridbox scan`'s output, pasted as it is.
function FromScan({ onMsg }) {
  const submit = async (e) => {
    e.preventDefault();
    const text = e.target.elements.namedItem("entry").value;
    const r = await api("/api/v1/devices", { method: "POST", body: text, headers: { "Content-Type": "application/yaml" } });
    onMsg(r.ok ? { ok: true, text: `Added ${r.data.id}; the gateway applies the new config.` } : { ok: false, text: errText(r), problems: r.data && r.data.problems });
  };
  return html`<section aria-labelledby="scan-h"><h2 id="scan-h">Paste a scan entry</h2>
    <form class="grid" id="add-scan" onSubmit=${submit}>
      <label style="flex-basis:100%">One device entry printed by <code>gridbox scan</code>
        <textarea name="entry" rows="5" required placeholder="- id: pv_1\n  driver: modbus\n  url: tcp://192.168.1.20:502\n  profile: sma-stp"></textarea></label>
      <button type="submit">Add</button></form></section>`;
}

function Msg({ m }) {
  if (!m) return null;
  return html`<div class=${"msg " + (m.ok ? "ok" : "bad")} role="status" id="device-msg">${m.text}
    ${m.problems ? html`<ul>${m.problems.map((p) => html`<li>${p}</li>`)}</ul>` : null}</div>`;
}

export function Devices({ live, canWrite, why }) {
  const [msg, setMsg] = useState(null);
  const [prefill, setPrefill] = useState(null);
  const devs = Object.values(live.devices).sort((a, b) => a.id.localeCompare(b.id));
  return html`<h2>Devices</h2><${Msg} m=${msg} />
    <ul class="cards plain" id="devices">${devs.map((d) => html`<${DeviceCard} key=${d.id} d=${d} canWrite=${canWrite} onMsg=${setMsg} />`)}</ul>
    ${canWrite ? html`<${DeviceForm} onMsg=${setMsg} prefill=${prefill} /><${ScanPanel} onAdd=${setPrefill} /><${FromScan} onMsg=${setMsg} />`
      : html`<p class="note" id="viewer-note">${why}</p>`}`;
}
