// Overview (energy flow, today's totals, health) and Datapoints (live
// table with search and filters). Devices are in devices.js.
import { html, useState, useEffect } from "/ui/vendor/htm-preact-standalone.module.js";
import { api } from "/ui/api.js";
import { human, watts, ago, energyWh, enumLabels } from "/ui/fmt.js";

const ROLES = ["pv_power", "grid_power", "battery_power", "ev_power"];

// powers sums the live power of each role in W (null: no such datapoint).
export function powers(points) {
  const out = { pv_power: null, grid_power: null, battery_power: null, ev_power: null, battery_soc: null };
  for (const p of Object.values(points)) {
    if (!(p.role in out) || !p.value) continue;
    if (p.role === "battery_soc") { out.battery_soc = p.value.value; continue; }
    const w = watts(p.value.value, p.unit);
    if (w !== null) out[p.role] = (out[p.role] || 0) + w;
  }
  return out;
}

function Node({ cls, label, w, extra }) {
  return html`<div class=${"node " + cls} role="group" aria-label=${label}>
    <span>${label}</span><b>${w === null ? "—" : human(w, "W")}</b>${extra ? html`<small>${extra}</small>` : null}</div>`;
}

// Arrow points the way the energy flows (dir > 0: the first way) and says it in words.
function Arrow({ dir, a, b, words }) {
  const sym = Math.abs(dir || 0) < 1 ? "·" : dir > 0 ? a : b;
  return html`<span class=${"arrow" + (Math.abs(dir || 0) >= 1 ? " active" : "")} title=${words} aria-label=${words}>${sym}</span>`;
}

function Flow({ points }) {
  const p = powers(points);
  const pv = p.pv_power, grid = p.grid_power, bat = p.battery_power, ev = p.ev_power;
  const home = [pv, grid, bat, ev].every((x) => x === null) ? null : (pv || 0) + (grid || 0) - (bat || 0) - (ev || 0);
  const say = (x, pos, neg) => (x === null ? "no data" : Math.abs(x) < 1 ? "idle" : x > 0 ? pos : neg);
  return html`<section aria-labelledby="flow-h"><h2 id="flow-h">Energy flow</h2>
  <div class="flow" id="flow">
    <span></span><span></span><${Node} cls="pv" label="PV" w=${pv} /><span></span><span></span>
    <span></span><span></span><${Arrow} dir=${pv} a="↓" b="↑" words=${say(pv, "PV produces", "PV draws")} /><span></span><span></span>
    <${Node} cls="grid" label="Grid" w=${grid} extra=${say(grid, "import", "export")} />
    <${Arrow} dir=${grid} a="→" b="←" words=${say(grid, "importing from the grid", "exporting to the grid")} />
    <${Node} cls="home" label="Home" w=${home} />
    <${Arrow} dir=${bat} a="→" b="←" words=${say(bat, "charging the battery", "discharging the battery")} />
    <${Node} cls="battery" label="Battery" w=${bat} extra=${p.battery_soc !== null ? `${human(p.battery_soc, "%")} · ${say(bat, "charging", "discharging")}` : say(bat, "charging", "discharging")} />
    <span></span><span></span><${Arrow} dir=${ev} a="↓" b="↑" words=${say(ev, "charging the car", "car feeds in")} /><span></span><span></span>
    <span></span><span></span><${Node} cls="ev" label="EV" w=${ev} /><span></span><span></span>
  </div></section>`;
}

// todayTotals integrates today's history of every role's power datapoints.
async function todayTotals(points) {
  const from = new Date(); from.setHours(0, 0, 0, 0);
  const sums = { pv_power: { pos: 0, neg: 0 }, grid_power: { pos: 0, neg: 0 }, battery_power: { pos: 0, neg: 0 }, ev_power: { pos: 0, neg: 0 } };
  let any = false;
  await Promise.all(Object.values(points).filter((p) => ROLES.includes(p.role)).map(async (p) => {
    const path = `/api/v1/datapoints/${encodeURIComponent(p.device)}/${encodeURIComponent(p.name)}/history?from=${from.getTime()}&interval=1m&agg=mean`;
    const r = await api(path);
    if (!r.ok) return;
    any = true;
    const s = r.data.samples.map((x) => ({ timestamp: x.timestamp, value: watts(x.value, p.unit) }));
    const e = energyWh(s);
    sums[p.role].pos += e.pos; sums[p.role].neg += e.neg;
  }));
  if (!any) return null;
  const produced = sums.pv_power.pos, imported = sums.grid_power.pos, exported = sums.grid_power.neg;
  const consumed = produced + imported - exported - sums.battery_power.pos + sums.battery_power.neg;
  const self = produced > 0 ? Math.max(0, Math.min(100, ((produced - exported) / produced) * 100)) : null;
  return { produced, consumed, imported, exported, self };
}

function Totals({ points }) {
  const [t, setT] = useState(undefined);
  const keys = Object.values(points).filter((p) => ROLES.includes(p.role)).map((p) => p.device + "/" + p.name).join(",");
  useEffect(() => {
    let stop = false;
    const load = () => todayTotals(points).then((x) => { if (!stop) setT(x); });
    load();
    const id = setInterval(load, 60000);
    return () => { stop = true; clearInterval(id); };
  }, [keys]);
  if (t === undefined) return html`<p class="muted">Loading today's energy…</p>`;
  if (t === null) return html`<p class="muted">No history of power datapoints with roles today (a store keeps it).</p>`;
  const item = (label, v) => html`<div><span class="muted">${label}</span><b>${v}</b></div>`;
  return html`<div class="totals" id="totals">
    ${item("Produced", human(t.produced, "Wh"))}${item("Consumed", human(t.consumed, "Wh"))}
    ${item("Imported", human(t.imported, "Wh"))}${item("Exported", human(t.exported, "Wh"))}
    ${item("Self-consumption", t.self === null ? "—" : `${Math.round(t.self)} %`)}</div>`;
}

function Health({ live }) {
  const [st, setSt] = useState(null);
  useEffect(() => {
    const load = () => api("/api/v1/status").then((r) => r.ok && setSt(r.data));
    load();
    const id = setInterval(load, 10000);
    return () => clearInterval(id);
  }, []);
  const devs = Object.values(live.devices);
  const on = devs.filter((d) => d.online).length;
  const comps = st ? Object.entries(st.components) : [];
  return html`<ul class="cards plain" id="health" aria-label="Gateway health">
    <li class="card"><h3>Devices</h3><span class=${on === devs.length ? "ok" : "warn"}>${on} of ${devs.length} online</span></li>
    <li class="card"><h3>Live stream</h3><span class=${live.connected ? "ok" : "bad"}>${live.connected ? "connected" : "disconnected"}</span></li>
    <li class="card" id="health-broker"><h3>MQTT broker</h3>${st ? html`<${Broker} b=${st.broker} />` : "…"}</li>
    <li class="card" id="health-store"><h3>Store</h3>${st ? html`<span class=${st.store ? "ok" : "muted"}>${st.store ? "keeping history" : "none configured"}</span>` : "…"}</li>
    ${comps.map(([k, v]) => html`<li class="card"><h3>${k.startsWith("uplink/") ? "Uplink " + k.slice(7) : k}</h3>${k.startsWith("uplink/") ? html`<${Uplink} u=${v} />`
      : html`<span class=${v && v.connected === false ? "bad" : "ok"}>${typeof v === "object" ? Object.entries(v).map(([a, b]) => `${a}: ${b}`).join(", ") : String(v)}</span>`}</li>`)}
    ${st && !comps.some(([k]) => k.startsWith("uplink/")) ? html`<li class="card"><h3>Uplink</h3><span class="muted">none configured</span></li>` : null}
    ${st ? html`<li class="card"><h3>Version</h3>${st.version}</li>` : null}
  </ul>`;
}

// Broker says how the MQTT side is: the embedded broker's clients and
// messages, or whether the external broker is connected.
function Broker({ b }) {
  if (!b) return html`<span class="muted">no MQTT sink</span>`;
  const state = html`<span class=${b.connected ? "ok" : "bad"}>${b.connected ? "connected" : "not connected"}</span>`;
  if (b.broker !== "embedded") return html`${state}<div class="muted">external ${b.address || ""}</div>`;
  return html`${state}<div>embedded, ${b.clients} client${b.clients === 1 ? "" : "s"}</div>
    <div class="muted">${b.messages_received} messages in, ${b.messages_sent} out${b.dropped ? html`, <span class="bad">${b.dropped} dropped</span>` : ""}</div>`;
}

// Uplink shows an uplink's queue (its gateway status field).
function Uplink({ u }) {
  const bad = u.full || u.degraded || u.dropped;
  return html`<span class=${bad ? "bad" : "ok"}>${u.full ? "queue full" : u.degraded ? "degraded" : "ok"}</span>
    <div class="muted">${u.queue_values} values queued${u.dropped ? `, ${u.dropped} dropped` : ""}</div>`;
}

export function Overview({ live }) {
  return html`<${Flow} points=${live.points} />
    <section aria-labelledby="today-h"><h2 id="today-h">Today</h2><${Totals} points=${live.points} /></section>
    <section aria-labelledby="health-h"><h2 id="health-h">Gateway</h2><${Health} live=${live} /></section>`;
}

const QCLASS = { good: "ok", stale: "warn", bad: "bad" };

export function Datapoints({ live }) {
  const [q, setQ] = useState("");
  const [dev, setDev] = useState("");
  const [kind, setKind] = useState("");
  const all = Object.values(live.points);
  const devices = [...new Set(all.map((p) => p.device))].sort();
  const rows = all.filter((p) => (!dev || p.device === dev) && (!kind || p.kind === kind) &&
    (!q || `${p.device}/${p.name} ${p.description || ""} ${p.role || ""}`.toLowerCase().includes(q.toLowerCase())))
    .sort((a, b) => (a.device + "/" + a.name).localeCompare(b.device + "/" + b.name));
  return html`<h2>Datapoints</h2>
    <form class="grid" role="search" onSubmit=${(e) => e.preventDefault()}>
      <label>Search <input type="search" id="dp-search" value=${q} onInput=${(e) => setQ(e.target.value)} /></label>
      <label>Device <select value=${dev} onChange=${(e) => setDev(e.target.value)}><option value="">all</option>${devices.map((d) => html`<option>${d}</option>`)}</select></label>
      <label>Kind <select value=${kind} onChange=${(e) => setKind(e.target.value)}><option value="">all</option><option>sensor</option><option>actuator</option></select></label>
      <span class="muted">${rows.length} of ${all.length}</span>
    </form>
    <div class="scroll"><table id="points"><thead><tr><th>Datapoint</th><th class="num">Value</th><th>Quality</th><th class="hide-narrow">Updated</th><th class="hide-narrow">Kind</th><th class="hide-narrow">Role</th></tr></thead>
    <tbody>${rows.map((p) => {
      const v = p.value, k = p.device + "/" + p.name;
      return html`<tr key=${k} data-key=${k}>
        <td><a href=${"#/dp/" + encodeURIComponent(p.device) + "/" + encodeURIComponent(p.name)}>${k}</a>${p.description ? html`<div class="muted">${p.description}</div>` : null}</td>
        <td class="num" data-value>${v ? human(v.value, p.unit, p.allowed, enumLabels(p.description)) : "—"}</td>
        <td class=${v ? QCLASS[v.quality] || "" : "muted"}>${v ? v.quality : "no value"}</td>
        <td class="hide-narrow muted">${v ? ago(v.timestamp, live.at) : ""}</td>
        <td class="hide-narrow">${p.kind}</td><td class="hide-narrow">${p.role || ""}</td></tr>`;
    })}</tbody></table></div>`;
}
