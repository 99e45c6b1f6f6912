// The REST API of the same origin, with the login token of this tab.

export const TOKEN = "gridbox.token"; // the login token (never the password), for this tab only

// api calls the REST API with the login token; it answers {status, ok, data}.
export async function api(path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  const tok = sessionStorage.getItem(TOKEN);
  if (tok) headers.Authorization = "Bearer " + tok;
  let body = opts.body;
  if (body !== undefined && typeof body !== "string") {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(path, { ...opts, headers, body });
  } catch (err) {
    // A connection the gateway closed while restarting after a config
    // change: an idempotent request is sent once more.
    const failed = (e) => ({ status: 0, ok: false, data: { error: `not sent: ${e.message} (is the gateway reachable?)` } });
    if (!["GET", "PUT", "DELETE", undefined].includes(opts.method)) return failed(err);
    await new Promise((ok) => setTimeout(ok, 500));
    try { r = await fetch(path, { ...opts, headers, body }); } catch (err2) { return failed(err2); }
  }
  let data = null;
  try { data = await r.json(); } catch { /* 204 or not JSON */ }
  if (r.status === 401 && path !== "/api/v1/login") window.dispatchEvent(new Event("gridbox-logout"));
  return { status: r.status, ok: r.ok, data };
}

// errText is the message of a failed call.
export const errText = (r) => (r.data && r.data.error) || `HTTP ${r.status}`;

