// gridbox web UI: the app shell — session and login, the live model (REST
// snapshot + Server-Sent Events), navigation. Pages are in pages.js,
// devices.js and point.js. Texts from the gateway are rendered as text, never as HTML.
import { html, render, useState, useEffect } from "/ui/vendor/htm-preact-standalone.module.js";
import { Overview, Datapoints } from "/ui/pages.js";
import { Devices } from "/ui/devices.js";
import { PointPage } from "/ui/point.js";

import { api, TOKEN } from "/ui/api.js";

// useLive keeps devices and datapoints current: a snapshot, then the stream;
// after a reconnect (the gateway restarts when its config changes) a new snapshot.
function useLive(enabled) {
  const [model, setModel] = useState({ devices: {}, points: {}, connected: false, at: 0 });
  useEffect(() => {
    if (!enabled) return undefined;
    let cur = { devices: {}, points: {}, connected: false };
    let timer = 0, closed = false;
    const flush = () => { timer = 0; setModel({ ...cur, at: Date.now() }); };
    const later = () => { if (!timer) timer = setTimeout(flush, 200); };
    const snapshot = async () => {
      const [d, p] = await Promise.all([api("/api/v1/devices"), api("/api/v1/datapoints")]);
      if (!d.ok || !p.ok || closed) return;
      cur.devices = Object.fromEntries(d.data.map((x) => [x.id, x]));
      cur.points = Object.fromEntries(p.data.map((x) => [x.device + "/" + x.name, x]));
      later();
    };
    const tok = sessionStorage.getItem(TOKEN);
    const es = new EventSource("/api/v1/stream" + (tok ? "?access_token=" + encodeURIComponent(tok) : ""));
    es.addEventListener("open", () => { cur.connected = true; snapshot(); });
    es.addEventListener("error", () => { cur.connected = false; later(); });
    es.addEventListener("value", (e) => {
      const v = JSON.parse(e.data), k = v.device + "/" + v.name, p = cur.points[k];
      if (!p) return;
      cur.points[k] = { ...p, value: { value: v.value, timestamp: v.timestamp, quality: v.quality } };
      later();
    });
    es.addEventListener("state", (e) => {
      const s = JSON.parse(e.data);
      const old = cur.devices[s.device] || {};
      cur.devices[s.device] = { ...old, id: s.device, driver: s.driver, online: s.online, last_seen: s.last_seen || null,
        error: s.error || "", polls: s.polls, errors: s.errors };
      later();
    });
    snapshot();
    return () => { closed = true; es.close(); clearTimeout(timer); };
  }, [enabled]);
  return model;
}

function useRoute() {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/");
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function Login({ onDone }) {
  const [msg, setMsg] = useState("");
  const submit = async (e) => {
    e.preventDefault();
    const f = e.target;
    const r = await api("/api/v1/login", { method: "POST", body: { name: f.elements.namedItem("name").value, password: f.elements.namedItem("password").value } });
    f.elements.namedItem("password").value = "";
    if (!r.ok) { setMsg((r.data && r.data.error) || `HTTP ${r.status}`); return; }
    sessionStorage.setItem(TOKEN, r.data.token);
    onDone();
  };
  return html`<main><form class="login card" onSubmit=${submit} aria-labelledby="login-h">
    <h2 id="login-h">Log in to gridbox</h2>
    <label>Name <input name="name" autocomplete="username" required /></label>
    <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
    <button class="primary" type="submit">Log in</button>
    <p class="msg bad" role="alert">${msg}</p>
  </form></main>`;
}

const tabs = [["#/", "Overview"], ["#/devices", "Devices"], ["#/datapoints", "Datapoints"]];

function Header({ route, session, connected, onLogout, onLogin }) {
  const cur = route.startsWith("#/dp/") ? "#/datapoints" : route;
  const theme = () => {
    const r = document.documentElement, next = r.dataset.theme === "dark" ? "light" : "dark";
    r.dataset.theme = next;
    localStorage.setItem("gridbox.theme", next);
  };
  return html`<header class="top">
    <h1>gridbox</h1>
    <nav aria-label="Main"><ul>${tabs.map(([h, t]) => html`<li><a href=${h} aria-current=${cur === h ? "page" : undefined}>${t}</a></li>`)}</ul></nav>
    <span class="spacer muted" role="status" id="conn">${connected ? "live" : "connecting…"}</span>
    <button type="button" onClick=${theme} aria-label="Switch dark or light theme">◐</button>
    ${session.name ? html`<span class="muted">${session.name} (${session.role})</span>
      <button type="button" id="logout" onClick=${onLogout}>Log out</button>`
      : session.login ? html`<button type="button" id="login" onClick=${onLogin}>Log in</button>` : null}
  </header>`;
}

function App() {
  const [session, setSession] = useState(null);
  const [gen, setGen] = useState(0);
  const [wantLogin, setWantLogin] = useState(false); // read-open: log in to write
  const route = useRoute();
  useEffect(() => {
    api("/api/v1/session").then((r) => setSession(r.data || { auth: "token" }));
  }, [gen]);
  useEffect(() => {
    const out = () => { sessionStorage.removeItem(TOKEN); setGen((g) => g + 1); };
    window.addEventListener("gridbox-logout", out);
    return () => window.removeEventListener("gridbox-logout", out);
  }, []);
  const needLogin = session && ((!session.role && session.auth === "token") || (wantLogin && !session.name));
  const live = useLive(session && !needLogin ? gen + 1 : 0);
  if (!session) return html`<p class="loading">gridbox is loading…</p>`;
  if (needLogin) return html`<${Login} onDone=${() => { setWantLogin(false); setGen((g) => g + 1); }} />`;
  const logout = async () => {
    await api("/api/v1/logout", { method: "POST" });
    sessionStorage.removeItem(TOKEN);
    setGen((g) => g + 1);
  };
  const canWrite = session.role === "admin";
  const why = canWrite ? "" : session.name ? `You are logged in as ${session.name}, a viewer: writing and changing the config need an admin.`
    : "Writing and changing the config need a login as an admin (Log in, at the top).";
  let page;
  if (route.startsWith("#/dp/")) {
    const [device, name] = route.slice(5).split("/").map(decodeURIComponent);
    page = html`<${PointPage} live=${live} device=${device} name=${name} canWrite=${canWrite} why=${why} />`;
  } else if (route === "#/devices") page = html`<${Devices} live=${live} canWrite=${canWrite} why=${why} />`;
  else if (route === "#/datapoints") page = html`<${Datapoints} live=${live} />`;
  else page = html`<${Overview} live=${live} />`;
  return html`<${Header} route=${route} session=${session} connected=${live.connected} onLogout=${logout} onLogin=${() => setWantLogin(true)} />
    <main id="main">${page}</main>`;
}

const saved = localStorage.getItem("gridbox.theme");
if (saved) document.documentElement.dataset.theme = saved;
render(html`<${App} />`, document.getElementById("app"));
