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
  // A connection refused or closed while the gateway restarts after a
  // config change: an idempotent request is sent again for a few seconds.
  const idempotent = ["GET", "PUT", "DELETE", undefined].includes(opts.method);
  let r;
  for (const wait of [300, 700, 1500, 3000, -1]) {
    try {
      r = await fetch(path, { ...opts, headers, body });
      break;
    } catch (err) {
      if (!idempotent || wait < 0) return { status: 0, ok: false, data: { error: `not sent: ${err.message} (is the gateway reachable?)` } };
      await new Promise((ok) => setTimeout(ok, wait));
    }
  }
  let data = null;
  try { data = await r.json(); } catch { /* 204 or not JSON */ }
  if (r.status === 401 && path !== "/api/v1/login") window.dispatchEvent(new Event("gridbox-logout"));
  return { status: r.status, ok: r.ok, data };
}

// errText is the message of a failed call.
export const errText = (r) => (r.data && r.data.error) || `HTTP ${r.status}`;

