// The device form, generated from each driver's device entry schema (GET
// /api/v1/drivers): a field per scalar key with its type, enum, default
// and description; required keys first. The gateway checks what it sends
// like `gridbox check` and answers every problem.
import { html, useState, useEffect } from "/ui/vendor/htm-preact-standalone.module.js";
import { api, errText } from "/ui/api.js";
import { fieldsOf, isFirst, entryFrom } from "/ui/schema.js";

function Field({ f, value, set, profiles }) {
  const id = "f-" + f.key, did = id + "-d";
  const label = html`${f.key}${f.required ? html`<span aria-hidden="true"> *</span>` : ""}`;
  const desc = [f.desc, f.def !== undefined ? `default ${f.def}` : ""].filter(Boolean).join(" — ");
  const common = { id, name: f.key, required: f.required, "aria-describedby": desc ? did : undefined };
  let input;
  if (f.type === "boolean") {
    input = html`<select ...${common} value=${value === undefined ? "" : String(value)} onChange=${(e) => set(e.target.value)}>
      <option value="">${f.def !== undefined ? `default (${f.def})` : "default"}</option><option value="true">true</option><option value="false">false</option></select>`;
  } else if (f.enumv) {
    input = html`<select ...${common} value=${value ?? ""} onChange=${(e) => set(e.target.value)}>
      <option value="">${f.required ? "choose…" : "default"}</option>${f.enumv.map((v) => html`<option value=${String(v)}>${String(v)}</option>`)}</select>`;
  } else {
    const num = f.type === "integer" || f.type === "number";
    input = html`<input ...${common} value=${value ?? ""} onInput=${(e) => set(e.target.value)}
      inputmode=${num ? "decimal" : undefined} list=${f.suggest ? id + "-l" : undefined}
      placeholder=${f.def !== undefined ? String(f.def) : ""} pattern=${f.type === "duration" ? "[0-9.]+(ns|us|ms|s|m|h)([0-9.]+(ns|us|ms|s|m|h))*|\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}" : undefined} />
      ${f.suggest ? html`<datalist id=${id + "-l"}>${f.suggest.map((s) => html`<option value=${s}>${(profiles[s] || {}).description || ""}</option>`)}</datalist>` : null}`;
  }
  return html`<div class="field"><label for=${id}>${label}</label>${input}${desc ? html`<small class="muted" id=${did}>${desc}</small>` : null}</div>`;
}

// DeviceForm adds a device: choose the driver, fill the generated fields.
// prefill is an entry to start from (a scan result), with its extra keys.
export function DeviceForm({ onMsg, prefill }) {
  const [drivers, setDrivers] = useState([]);
  const [driver, setDriver] = useState("");
  const [values, setValues] = useState({});
  const [extra, setExtra] = useState({});
  const [err, setErr] = useState("");
  useEffect(() => { api("/api/v1/drivers").then((r) => r.ok && setDrivers(r.data)); }, []);
  useEffect(() => {
    if (!prefill) return;
    const vals = {}, ext = {};
    for (const [k, v] of Object.entries(prefill)) (v !== null && typeof v === "object" ? ext : vals)[k] = v;
    setDriver(prefill.driver || ""); setValues(vals); setExtra(ext); setErr("");
    const el = document.getElementById("add-h");
    if (el) { el.scrollIntoView(); document.getElementById("f-driver").focus(); }
  }, [prefill]);
  const d = drivers.find((x) => x.name === driver);
  const fields = d ? fieldsOf(d.schema).filter((f) => f.key !== "driver") : [];
  const profiles = Object.fromEntries(((d && d.profiles) || []).map((p) => [p.name, p]));
  const prof = profiles[values.profile];
  const set = (k) => (v) => setValues((o) => ({ ...o, [k]: v }));
  const submit = async (e) => {
    e.preventDefault();
    const { entry, error, key } = entryFrom(fields, values, extra);
    if (error) { setErr(error); document.getElementById("f-" + key).focus(); return; }
    setErr("");
    const r = await api("/api/v1/devices", { method: "POST", body: { id: entry.id, driver, ...entry } });
    onMsg(r.ok ? { ok: true, text: `Added ${entry.id}; the gateway applies the new config.` } : { ok: false, text: errText(r), problems: r.data && r.data.problems });
  };
  const first = fields.filter(isFirst), more = fields.filter((f) => !isFirst(f));
  const field = (f) => html`<${Field} key=${driver + f.key} f=${f} value=${values[f.key]} set=${set(f.key)} profiles=${profiles} />`;
  return html`<section aria-labelledby="add-h"><h2 id="add-h">Add a device</h2>
    <form class="devform" id="add-device" onSubmit=${submit}>
      <div class="field"><label for="f-driver">driver <span aria-hidden="true">*</span></label>
        <select id="f-driver" name="driver" required value=${driver} onChange=${(e) => { setDriver(e.target.value); setValues({}); setExtra({}); }}>
          <option value="">choose…</option>${drivers.map((x) => html`<option value=${x.name}>${x.name}${x.profiles.length ? ` (${x.profiles.length} profiles)` : ""}</option>`)}</select></div>
      ${first.map(field)}
      ${prof ? html`<p class="muted wide" id="profile-info">${prof.description} — ${prof.datapoints.length} datapoints</p>` : null}
      ${Object.keys(extra).length ? html`<p class="muted wide">Also sent as found by the scan: ${Object.keys(extra).join(", ")}</p>` : null}
      ${more.length ? html`<details class="wide"><summary>More settings (empty: the default)</summary><div class="devform">${more.map(field)}</div></details>` : null}
      ${d ? html`<div class="wide"><button class="primary" type="submit">Add</button> <span class="bad" role="alert">${err}</span></div>` : null}
    </form></section>`;
}
