// Package docpath finds values in device answers by path: dotted paths with
// array indexes into JSON and YAML documents (Body.Data.Inverters.1.P),
// element paths into XML (namespace prefixes ignored) and keys of key=value
// lines. The HTTP and socket drivers share it; so may any driver that reads
// documents.
package docpath

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Formats a document may have.
const (
	JSON     = "json"
	XML      = "xml"
	KeyValue = "keyvalue"
	YAML     = "yaml"
)

// ErrMalformed wraps every error of a document that does not parse.
var ErrMalformed = errors.New("malformed document")

// ErrMissing is returned by Get for a path the document does not hold.
var ErrMissing = errors.New("no such path")

// Doc is one parsed document.
type Doc interface {
	// Get returns the value at path: float64, string, bool, nil, or a
	// map/slice for an inner node. A path the document lacks is ErrMissing.
	Get(path string) (any, error)
}

// Parse parses data in format (json, xml, keyvalue, yaml). A document that
// does not parse is an error wrapping ErrMalformed.
func Parse(format string, data []byte) (Doc, error) {
	var (
		d   Doc
		err error
	)
	switch format {
	case JSON:
		d, err = parseJSON(data)
	case YAML:
		d, err = parseYAML(data)
	case XML:
		d, err = parseXML(data)
	case KeyValue:
		d, err = parseKeyValue(data)
	default:
		return nil, fmt.Errorf("format %q: want json, xml, keyvalue or yaml", format)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, format, err)
	}
	return d, nil
}

// CheckPath reports a path that can never match in format.
func CheckPath(format, path string) error {
	if path == "" {
		return errors.New("empty path")
	}
	if format == KeyValue {
		return nil
	}
	segs := strings.Split(path, ".")
	if format == XML {
		segs = xmlSegments(path)
	}
	for _, s := range segs {
		if s == "" {
			return fmt.Errorf("path %q has an empty segment", path)
		}
	}
	return nil
}

// tree is a decoded JSON or YAML document.
type tree struct{ root any }

func parseJSON(data []byte) (Doc, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the document")
	}
	return tree{normalize(v)}, nil
}

func parseYAML(data []byte) (Doc, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return tree{normalize(v)}, nil
}

// normalize turns numbers into float64 (json.Number, YAML ints) and YAML's
// map[any]any keys into strings.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

// Get walks dotted segments: a map by key, an array by index.
func (t tree) Get(path string) (any, error) {
	cur := t.root
	for _, seg := range strings.Split(path, ".") {
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[seg]
			if !ok {
				return nil, fmt.Errorf("%w: %s (no key %q)", ErrMissing, path, seg)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(node) {
				return nil, fmt.Errorf("%w: %s (index %q of an array of %d)", ErrMissing, path, seg, len(node))
			}
			cur = node[i]
		default:
			return nil, fmt.Errorf("%w: %s (%q is inside a %s)", ErrMissing, path, seg, typeName(cur))
		}
	}
	return cur, nil
}

// kv is a document of key=value lines.
type kv map[string]string

func parseKeyValue(data []byte) (Doc, error) {
	out := kv{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("line %d: %q is not key=value", n, short(line))
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, sc.Err()
}

// Get returns the key's value: a number when it parses as one, "" as nil.
func (d kv) Get(key string) (any, error) {
	v, ok := d[key]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: key %q", ErrMissing, key)
	case v == "":
		return nil, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f, nil
	}
	return v, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
