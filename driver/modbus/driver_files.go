package modbus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/gridbox/gridbox/config"
)

// Foreign driver files: a `profile:` may name a JSON file in the edge
// datalogger's driver format (datalogger.go) or a building framework's
// MODBUS_CONFIG (bemcom.go). They are recognised by content and converted
// into registers at load time; docs/driver-files.md describes both.

// parseForeign converts a foreign driver file. ok is false when data is
// not one (a YAML profile, or JSON with a driver key): the caller parses
// it as a profile.
func parseForeign(data []byte, source string) (p *Profile, ok bool, err error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, false, nil
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(trimmed, &top) != nil {
		return nil, false, nil // not JSON: maybe a YAML flow mapping
	}
	if _, isProfile := top["driver"]; isProfile {
		return nil, false, nil
	}
	var errs config.Errors
	switch {
	case has(top, "fields", "common", "status_info", "status_info_common"):
		p, errs = parseDatalogger(top)
	case has(top, "MODBUS_CONFIG"):
		if top, err = unwrapModbusConfig(top["MODBUS_CONFIG"]); err != nil {
			return nil, true, fmt.Errorf("%s: MODBUS_CONFIG: %w", source, err)
		}
		p, errs = parseModbusConfig(top)
	case has(top, bemcomKeys...):
		p, errs = parseModbusConfig(top)
	default:
		return nil, true, fmt.Errorf("%s: a JSON file that is neither a gridbox profile (driver: modbus), "+
			"a datalogger driver (fields, common) nor a MODBUS_CONFIG (%s)", source, strings.Join(bemcomKeys, ", "))
	}
	if len(errs) > 0 {
		config.Errors(errs).Sort()
		locate(data, source, errs)
		return nil, true, errs
	}
	p.Name = strings.TrimSuffix(path.Base(source), path.Ext(source))
	p.Driver = "modbus"
	return p, true, nil
}

func has(m map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// unwrapModbusConfig accepts MODBUS_CONFIG as an object or as a string
// holding the JSON (as in the framework's environment file).
func unwrapModbusConfig(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("want a JSON object: %w", err)
	}
	return m, nil
}

// strictJSON decodes raw into v, rejecting unknown keys.
func strictJSON(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// sortedKeys returns a JSON object's keys, sorted.
func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FieldName is the datapoint name of a driver file's field key (slug).
func FieldName(key string) string { return slug(key) }

// slug makes a datapoint name of a foreign key: lower case, every
// character other than a-z, 0-9 and _ becomes _ (P_total → p_total).
func slug(key string) string {
	b := []byte(strings.ToLower(key))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// compileForeign compiles converted registers one by one, so that errors
// carry the foreign file's key path (like fields.P_total) instead of a
// register index.
func compileForeign(regs []Register, paths []string) ([]*field, []config.FieldError) {
	var errs []config.FieldError
	fields := make([]*field, 0, len(regs))
	seen := map[string]string{}
	for i, r := range regs {
		f, ferrs := compileRegister(r)
		for _, e := range ferrs {
			e.Msg = fmt.Sprintf("%s (as register %s)", e.Msg, e.Path)
			e.Path = paths[i]
			errs = append(errs, e)
		}
		if other, dup := seen[r.Name]; dup {
			errs = append(errs, config.Errf(paths[i], "datapoint name %q is also the name of %s", r.Name, other))
		}
		seen[r.Name] = paths[i]
		fields = append(fields, f)
	}
	return fields, errs
}
