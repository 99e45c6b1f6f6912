// The device form's fields from a driver's device entry schema, and the
// entry from the form's texts. Pure functions (tested with node in
// api/ui_test.go).

// The keys shown before "More settings"; the others are folded away.
const FIRST = ["id", "driver", "url", "broker", "profile", "unit", "interval"];

// fieldsOf lists the scalar keys of a device schema as form fields:
// {key, type (string|integer|number|boolean|duration), required, enumv,
// suggest, def, desc, pattern}, required and FIRST keys first. Keys of
// lists and objects (registers, overrides) are not form fields.
export function fieldsOf(schema) {
  const props = (schema && schema.properties) || {};
  const req = new Set((schema && schema.required) || []);
  const out = [];
  for (const [key, p] of Object.entries(props)) {
    let type = p.type;
    if (type === "string" && p.pattern) type = "duration";
    if (!["string", "integer", "number", "boolean", "duration"].includes(type)) continue;
    out.push({ key, type, required: req.has(key), enumv: p.enum || null, suggest: p["x-suggest"] || null,
      def: p.default, desc: p.description || "", pattern: p.pattern || "" });
  }
  const rank = (f) => (f.required ? 0 : 1) * 100 + (FIRST.includes(f.key) ? FIRST.indexOf(f.key) : 50);
  return out.sort((a, b) => rank(a) - rank(b) || a.key.localeCompare(b.key));
}

// isFirst tells the fields shown at once from those under "More settings".
export const isFirst = (f) => f.required || FIRST.includes(f.key);

// entryFrom builds the device entry from the form's texts: empty fields are
// left out (the driver's default applies), numbers and booleans typed;
// extra holds keys the form has no field for (a scan's registers). It
// answers {entry} or {error, key} for a value of the wrong type.
export function entryFrom(fields, values, extra = {}) {
  const entry = {};
  for (const f of fields) {
    const v = values[f.key];
    if (v === undefined || v === "" || v === null) continue;
    if (f.type === "boolean") { entry[f.key] = v === true || v === "true"; continue; }
    if (f.type === "integer" || f.type === "number") {
      const n = Number(String(v).trim());
      if (!isFinite(n) || (f.type === "integer" && !Number.isInteger(n))) return { error: `${f.key}: “${v}” is not ${f.type === "integer" ? "a whole number" : "a number"}`, key: f.key };
      entry[f.key] = n;
      continue;
    }
    entry[f.key] = String(v).trim();
  }
  for (const [k, v] of Object.entries(extra)) if (!(k in entry)) entry[k] = v;
  return { entry };
}
