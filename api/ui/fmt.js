// Formatting of values for people: SI prefixes for power and energy,
// enum names, times. Pure functions (tested with node in api/ui_test.go).

const scaled = { W: "W", Wh: "Wh", VA: "VA", var: "var", VAh: "VAh", varh: "varh" };
const prefixes = [["G", 1e9], ["M", 1e6], ["k", 1e3]];

// toBase returns [value in the base unit, base unit] for W/kW/MW, Wh/kWh/MWh, …
export function toBase(v, unit) {
  if (typeof v !== "number" || !unit) return [v, unit];
  if (scaled[unit]) return [v, unit];
  for (const [p, f] of prefixes) {
    if (unit.startsWith(p) && scaled[unit.slice(p.length)]) return [v * f, unit.slice(p.length)];
  }
  return [v, unit];
}

// num rounds to about 3–4 significant digits without trailing zeros.
export function num(v) {
  if (typeof v !== "number") return String(v);
  if (!isFinite(v)) return "—";
  const a = Math.abs(v);
  const d = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return Number(v.toFixed(d)).toLocaleString("en-US", { maximumFractionDigits: d, useGrouping: a >= 1e4 && a < 1e9 });
}

// enumLabels reads the names of a profile's codes from its description,
// written as "Condition (35 fault, 303 off, 307 ok)"; null when there are none.
export function enumLabels(description) {
  const m = /\(((?:-?\d+ [^,()]+)(?:, -?\d+ [^,()]+)+)\)/.exec(description || "");
  if (!m) return null;
  const out = {};
  for (const part of m[1].split(", ")) {
    const i = part.indexOf(" ");
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

// human formats a value with its unit: 1234 W → "1.23 kW", 2500000 Wh → "2.5 MWh".
export function human(v, unit, allowed, labels) {
  if (v === null || v === undefined) return "—";
  if (labels && labels[String(v)] !== undefined) return `${labels[String(v)]} (${v})`;
  if (typeof v === "boolean") return v ? "on" : "off";
  if (typeof v !== "number") return String(v);
  const [b, bu] = toBase(v, unit);
  if (bu && scaled[bu]) {
    const a = Math.abs(b);
    for (const [p, f] of prefixes) if (a >= f) return `${num(b / f)} ${p}${bu}`;
    return `${num(b)} ${bu}`;
  }
  return unit ? `${num(v)} ${unit}` : num(v);
}

// watts converts a power value to W (null when it is not a number).
export function watts(v, unit) {
  if (typeof v !== "number" || !isFinite(v)) return null;
  return toBase(v, unit || "W")[0];
}

// ago says how long ago a time (ms) was.
export function ago(ms, now = Date.now()) {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toLocaleString();
}

// bucketFor picks the history interval for a range (ms) so that a chart has
// at most a few hundred points: raw up to 2 h, then 1m, 15m, 1h, 6h, 1d.
export function bucketFor(span) {
  const h = 3600e3;
  if (span <= 2 * h) return "";
  if (span <= 12 * h) return "1m";
  if (span <= 3 * 24 * h) return "15m";
  if (span <= 14 * 24 * h) return "1h";
  if (span <= 90 * 24 * h) return "6h";
  return "1d";
}

// energyWh integrates power samples [{timestamp, value}] (W) with the
// trapezoid rule, split into the positive and the negative part (Wh).
export function energyWh(samples) {
  let pos = 0, neg = 0;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1], b = samples[i];
    if (typeof a.value !== "number" || typeof b.value !== "number") continue;
    const dt = (b.timestamp - a.timestamp) / 3600e3;
    if (dt <= 0 || dt > 1) continue; // a gap longer than an hour is not guessed
    const e = ((a.value + b.value) / 2) * dt;
    if (e >= 0) pos += e; else neg -= e;
  }
  return { pos, neg };
}
