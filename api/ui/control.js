// The setpoint and schedule of a controlled actuator (docs/control.md):
// the decision and why, the active lists, and forms for one item each.
import { html, useState, useEffect } from "/ui/vendor/htm-preact-standalone.module.js";
import { api, errText } from "/ui/api.js";
import { human } from "/ui/fmt.js";

// toMS reads a datetime-local field (empty: null, open).
const toMS = (v) => (v ? new Date(v).getTime() : null);
const when = (ms) => (ms === null || ms === undefined ? "open" : new Date(ms).toLocaleString());

// valueOf types a value field like the actuator: a number for numeric
// formats, one of the allowed values, else the text.
export function valueOf(p, raw) {
  const t = String(raw).trim();
  if (t === "") return undefined;
  if (p.allowed) return p.allowed.find((a) => String(a) === t) ?? t;
  if (p.format && p.format.includes("numeric")) return Number(t);
  return t;
}

// setpointItem builds one setpoint item from the form's fields.
export function setpointItem(p, f) {
  const item = { from_timestamp: toMS(f.from), to_timestamp: toMS(f.to), preferred_value: valueOf(p, f.preferred) };
  if (f.min !== "" && f.min !== undefined) item.min_value = Number(f.min);
  if (f.max !== "" && f.max !== undefined) item.max_value = Number(f.max);
  return item;
}

function Items({ what, items, unit }) {
  if (!items || !items.length) return html`<p class="muted" id=${what + "-items"}>No ${what}.</p>`;
  return html`<ul id=${what + "-items"}>${items.map((i) => html`<li>${what === "setpoint"
    ? `${human(i.preferred_value, unit)} preferred${i.min_value !== undefined || i.max_value !== undefined ? `, schedule allowed while the sensor is ${i.min_value ?? "…"}–${i.max_value ?? "…"}` : ""}`
    : human(i.value, unit)}, ${when(i.from_timestamp)} → ${when(i.to_timestamp)}</li>`)}</ul>`;
}

export function Control({ p, canWrite }) {
  const [state, setState] = useState(null);
  const [lists, setLists] = useState({});
  const [msg, setMsg] = useState(null);
  const [gen, setGen] = useState(0);
  const base = `/api/v1/datapoints/${encodeURIComponent(p.device)}/${encodeURIComponent(p.name)}`;
  useEffect(() => {
    api(base + "/control").then((r) => setState(r.ok ? r.data : null));
    Promise.all(["setpoint", "schedule"].map((w) => api(`${base}/${w}`))).then(([a, b]) => setLists({ setpoint: a.data, schedule: b.data }));
    const id = setInterval(() => api(base + "/control").then((r) => r.ok && setState(r.data)), 5000);
    return () => clearInterval(id);
  }, [base, gen]);
  if (!state) return null;
  const save = (what, items) => async () => {
    const r = await api(`${base}/${what}`, { method: "PUT", body: items });
    setMsg(r.ok ? { ok: true, text: `${what} ${items === null ? "cleared" : "saved"}` }
      : { ok: false, text: `${what} refused: ${errText(r)}` });
    setGen((g) => g + 1);
  };
  const submit = (what) => (e) => {
    e.preventDefault();
    const el = e.target.elements, f = (n) => el.namedItem(n).value;
    const item = what === "setpoint" ? setpointItem(p, { from: f("from"), to: f("to"), preferred: f("preferred"), min: f("min"), max: f("max") })
      : { from_timestamp: toMS(f("from")), to_timestamp: toMS(f("to")), value: valueOf(p, f("value")) };
    save(what, [item])();
  };
  const span = (w) => html`<div class="field"><label for=${w + "-from"}>From</label><input id=${w + "-from"} name="from" type="datetime-local" aria-describedby="ctl-open" /></div>
    <div class="field"><label for=${w + "-to"}>To</label><input id=${w + "-to"} name="to" type="datetime-local" aria-describedby="ctl-open" /></div>`;
  const d = state.decision || {};
  const u = p.unit ? ` (${p.unit})` : "";
  return html`<section aria-labelledby="ctl-h"><h2 id="ctl-h">Control</h2>
    <p id="ctl-decision">${d.act ? html`Decided: <b>${human(d.value, p.unit)}</b>` : "Nothing decided"}${d.reason ? ` — ${d.reason}` : ""}${state.written !== undefined && state.written !== null ? `; written ${human(state.written, p.unit)}` : ""}</p>
    <p class="muted" id="ctl-open">Empty times are open: from now, forever.</p>
    <h3>Setpoint</h3><${Items} what="setpoint" items=${lists.setpoint} unit=${p.unit} />
    ${canWrite ? html`<form class="devform" id="setpoint-form" onSubmit=${submit("setpoint")}>
      <div class="field"><label for="sp-pref">Preferred value${u}</label><input id="sp-pref" name="preferred" required inputmode="decimal" /></div>
      <div class="field"><label for="sp-min">Schedule allowed from${u}</label><input id="sp-min" name="min" inputmode="decimal" aria-describedby="sp-flex" /></div>
      <div class="field"><label for="sp-max">up to${u}</label><input id="sp-max" name="max" inputmode="decimal" aria-describedby="sp-flex" /></div>
      ${span("sp")}
      <small class="muted wide" id="sp-flex">The sensor range in which a schedule may run instead; empty: no flexibility.</small>
      <div class="wide"><button class="primary" type="submit">Save setpoint</button> <button type="button" onClick=${save("setpoint", null)}>Clear setpoint</button></div></form>` : null}
    <h3>Schedule</h3><${Items} what="schedule" items=${lists.schedule} unit=${p.unit} />
    ${canWrite ? html`<form class="devform" id="schedule-form" onSubmit=${submit("schedule")}>
      <div class="field"><label for="sc-val">Value${u}</label><input id="sc-val" name="value" required inputmode="decimal" /></div>
      ${span("sc")}
      <div class="wide"><button class="primary" type="submit">Save schedule</button> <button type="button" onClick=${save("schedule", null)}>Clear schedule</button></div></form>` : null}
    ${msg ? html`<p id="ctl-msg" role="status" class=${msg.ok ? "ok" : "bad"}>${msg.text}</p>` : null}</section>`;
}
