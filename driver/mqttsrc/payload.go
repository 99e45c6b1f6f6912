package mqttsrc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// badPayload is a message that could not be read, with its kind for the
// malformed counter (json, type).
type badPayload struct {
	kind string
	err  error
}

func (e *badPayload) Error() string { return e.err.Error() }

func bad(kind, format string, args ...any) error {
	return &badPayload{kind: kind, err: fmt.Errorf(format, args...)}
}

// extract returns the raw values of one message by datapoint name: the
// value at the path (or the whole payload); an object or array becomes
// one value per leaf, named name__key__subkey.
func (s *spec) extract(name string, payload []byte) (map[string]any, error) {
	var raw any
	trimmed := bytes.TrimSpace(payload)
	switch {
	case len(s.path) > 0:
		if err := json.Unmarshal(trimmed, &raw); err != nil {
			return nil, bad("json", "%s: %v (%.60q)", name, err, trimmed)
		}
		var err error
		if raw, err = walk(raw, s.path); err != nil {
			return nil, bad("type", "%s: %v", name, err)
		}
	case json.Valid(trimmed):
		_ = json.Unmarshal(trimmed, &raw) // valid JSON always decodes
	default:
		raw = string(trimmed) // a plain payload: 21.5, on, some text
	}
	out := map[string]any{}
	switch raw.(type) {
	case map[string]any, []any:
		flatten(name, raw, out, 0)
	default:
		out[name] = raw
	}
	return out, nil
}

// walk follows a dot path through objects (keys) and arrays (indexes).
func walk(v any, path []string) (any, error) {
	for i, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			e, ok := x[seg]
			if !ok {
				return nil, fmt.Errorf("no key %q at %s", seg, strings.Join(path[:i], "."))
			}
			v = e
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(x) {
				return nil, fmt.Errorf("no index %q in an array of %d at %s", seg, len(x), strings.Join(path[:i], "."))
			}
			v = x[n]
		default:
			return nil, fmt.Errorf("%s is a %T, not an object or array", strings.Join(path[:i], "."), v)
		}
	}
	return v, nil
}

// infer is the format of a value first seen at run time; "" for null.
func infer(v any) model.Format {
	switch x := v.(type) {
	case float64:
		return model.ContinuousNumeric
	case bool:
		return model.Bool
	case string:
		if _, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return model.ContinuousNumeric
		}
		return model.GenericText
	}
	return ""
}

// convert makes a raw value a value of format; scale applies to numbers.
func convert(format model.Format, v any, scale float64) (any, error) {
	if v == nil {
		return nil, nil // null: not available
	}
	if scale == 0 {
		scale = 1
	}
	switch {
	case format.Numeric():
		switch x := v.(type) {
		case float64:
			return x * scale, nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f * scale, nil
			}
		}
	case format == model.Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case float64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "on", "1":
				return true, nil
			case "false", "off", "0":
				return false, nil
			}
		}
	default:
		switch x := v.(type) {
		case string:
			return x, nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
	}
	return nil, fmt.Errorf("%s is not %s", model.Short(fmt.Sprint(v)), format)
}

// encode is the payload of a write: plain, or a JSON object along the path.
func (s *spec) encode(v any) ([]byte, error) {
	if f, ok := v.(float64); ok && s.Scale != 0 {
		v = f / s.Scale
	}
	if len(s.path) == 0 {
		switch x := v.(type) {
		case string:
			return []byte(x), nil
		case float64:
			return []byte(strconv.FormatFloat(x, 'f', -1, 64)), nil
		case bool:
			return []byte(strconv.FormatBool(x)), nil
		}
		return nil, fmt.Errorf("%T cannot be published", v)
	}
	for i := len(s.path) - 1; i >= 0; i-- {
		v = map[string]any{s.path[i]: v}
	}
	return json.Marshal(v)
}
