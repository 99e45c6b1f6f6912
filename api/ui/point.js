// The datapoint page: metadata, history chart (uPlot) with a range picker,
// and for actuators the write form (limits shown, every answer listed;
// disabled with the reason for a viewer) and the setpoints and schedules of
// a controlled actuator (control.js).
import { html, useState, useEffect, useRef } from "/ui/vendor/htm-preact-standalone.module.js";
import { api, errText } from "/ui/api.js";
import { human, bucketFor, ago, num, enumLabels } from "/ui/fmt.js";
import { Control } from "/ui/control.js";

const RANGES = [["1h", 3600e3], ["6h", 6 * 3600e3], ["24h", 24 * 3600e3], ["7d", 7 * 86400e3], ["30d", 30 * 86400e3], ["1y", 365 * 86400e3]];

function Chart({ device, name, unit }) {
  const [range, setRange] = useState("1h");
  const [info, setInfo] = useState("");
  const box = useRef(null);
  useEffect(() => {
    let plot = null, ro = null, stop = false;
    const span = RANGES.find((r) => r[0] === range)[1];
    const iv = bucketFor(span), to = Date.now(), from = to - span;
    const q = `from=${from}&to=${to}` + (iv ? `&interval=${iv}&agg=mean` : "");
    api(`/api/v1/datapoints/${encodeURIComponent(device)}/${encodeURIComponent(name)}/history?${q}`).then((r) => {
      if (stop) return;
      if (!r.ok) { setInfo(errText(r)); return; }
      const pts = r.data.samples.filter((s) => typeof s.value === "number" || typeof s.value === "boolean");
      setInfo(`${pts.length} ${iv ? iv + " means" : "samples"}`);
      if (!window.uPlot || !box.current) return;
      const xs = pts.map((s) => s.timestamp / 1000), ys = pts.map((s) => Number(s.value));
      const css = getComputedStyle(document.documentElement);
      const fg = css.getPropertyValue("--fg").trim(), line = css.getPropertyValue("--line").trim();
      const axis = { stroke: fg, grid: { stroke: line }, ticks: { stroke: line } };
      plot = new window.uPlot({
        width: box.current.clientWidth || 600, height: 300,
        series: [{}, { label: `${name}${unit ? " (" + unit + ")" : ""}`, stroke: css.getPropertyValue("--accent").trim(), width: 2,
          value: (u, v) => (v === null ? "—" : human(v, unit)) }],
        axes: [axis, { ...axis, values: (u, vals) => vals.map((v) => num(v)) }],
      }, [xs, ys], box.current);
      ro = new ResizeObserver(() => plot && box.current && plot.setSize({ width: box.current.clientWidth || 600, height: 300 }));
      ro.observe(box.current);
    });
    return () => { stop = true; if (ro) ro.disconnect(); if (plot) plot.destroy(); };
  }, [device, name, range]);
  return html`<section aria-labelledby="hist-h"><h2 id="hist-h">History</h2>
    <div role="group" aria-label="Range" class="grid" style="display:flex;gap:.3rem;flex-wrap:wrap">
      ${RANGES.map(([r]) => html`<button type="button" aria-pressed=${r === range} class=${r === range ? "primary" : ""} onClick=${() => setRange(r)}>${r}</button>`)}
      <span class="muted" id="chart-info" role="status">${info}</span></div>
    <div class="chart" id="chart" ref=${box}></div></section>`;
}

function WriteForm({ p, canWrite, why }) {
  const [answers, setAnswers] = useState([]);
  const isNum = p.format === "continuous_numeric";
  const submit = async (e) => {
    e.preventDefault();
    const raw = e.target.elements.namedItem("value").value;
    let v = raw;
    if (p.allowed) v = p.allowed.find((a) => String(a) === raw);
    else if (isNum) v = raw.trim() === "" ? NaN : Number(raw);
    if (typeof v === "number" && isNaN(v)) { setAnswers((a) => [{ ok: false, text: `“${raw}” is not a number` }, ...a]); return; }
    const r = await api(`/api/v1/datapoints/${encodeURIComponent(p.device)}/${encodeURIComponent(p.name)}/value`, { method: "PUT", body: { value: v } });
    const text = r.ok ? `${human(v, p.unit)} applied; the device answers ${human(r.data.value, p.unit)}` : `${human(v, p.unit)} refused: ${errText(r)}`;
    setAnswers((a) => [{ ok: r.ok, text, at: Date.now() }, ...a].slice(0, 10));
  };
  const limits = [p.min !== undefined && p.min !== null ? `min ${human(p.min, p.unit)}` : "", p.max !== undefined && p.max !== null ? `max ${human(p.max, p.unit)}` : ""].filter(Boolean).join(", ");
  return html`<section aria-labelledby="write-h"><h2 id="write-h">Write</h2>
    ${canWrite ? null : html`<p class="note" id="write-note">${why}</p>`}
    <form class="grid" id="write" onSubmit=${submit}><fieldset disabled=${!canWrite} aria-describedby=${canWrite ? undefined : "write-note"}>
      ${p.allowed ? html`<label>Value <select name="value">${p.allowed.map((a) => html`<option>${String(a)}</option>`)}</select></label>`
        : html`<label>Value${p.unit ? ` (${p.unit})` : ""} <input name="value" inputmode=${isNum ? "decimal" : "text"} aria-describedby="limits" /></label>`}
      <button class="primary" type="submit">Write</button>
      <span class="muted" id="limits">${limits || (p.allowed ? "one of the listed values" : "no limits")}</span>
    </fieldset></form>
    <ul id="answers" aria-live="polite">${answers.map((a) => html`<li class=${a.ok ? "ok" : "bad"}>${a.text}</li>`)}</ul></section>`;
}

export function PointPage({ live, device, name, canWrite, why }) {
  const p = live.points[device + "/" + name];
  if (!p) return html`<p>Unknown datapoint ${device}/${name} (yet). <a href="#/datapoints">All datapoints</a></p>`;
  const v = p.value;
  const meta = [["Kind", p.kind], ["Format", p.format], ["Unit", p.unit], ["Min", p.min], ["Max", p.max],
    ["Allowed", p.allowed && p.allowed.join(", ")], ["Role", p.role], ["Description", p.description]].filter(([, x]) => x !== undefined && x !== null && x !== "");
  return html`<h2>${device}/${name}</h2>
    <p><b id="dp-value" style="font-size:1.6rem">${v ? human(v.value, p.unit, p.allowed, enumLabels(p.description)) : "—"}</b>
      <span class=${v && v.quality === "good" ? "ok" : "warn"}> ${v ? v.quality : "no value"}</span>
      <span class="muted"> ${v ? ago(v.timestamp, live.at) : ""}</span></p>
    <table class="card" style="max-width:600px"><tbody>${meta.map(([k, x]) => html`<tr><th scope="row">${k}</th><td>${String(x)}</td></tr>`)}</tbody></table>
    <${Chart} device=${device} name=${name} unit=${p.unit} />
    ${p.kind === "actuator" ? html`<${WriteForm} p=${p} canWrite=${canWrite} why=${why} /><${Control} p=${p} canWrite=${canWrite} />` : null}`;
}
