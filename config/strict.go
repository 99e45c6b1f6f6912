package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	nodeType        = reflect.TypeOf(yaml.Node{})
	lineRE          = regexp.MustCompile("^line (\\d+): (.*)$")
	valueRE         = regexp.MustCompile("`([^`]*)`")
)

// Decode decodes a config node strictly into out — a device into its
// driver's config struct, a section into its sink kind's — and reports
// unknown keys and type errors with line and the full key path (prefix like
// "devices[2]" or "mqtt[1]"). out may hold defaults; absent keys keep them.
func Decode(n *yaml.Node, out any, prefix string) []FieldError {
	return decodeStrict(n, out, prefix)
}

// Locate returns the line of the node at a relative key path such as
// "registers[3].type" below n, or of the nearest existing parent.
func Locate(n *yaml.Node, path string) int {
	line := n.Line
	for _, part := range splitPath(path) {
		next := child(n, part)
		if next == nil {
			break
		}
		n, line = next, next.Line
	}
	return line
}

func splitPath(path string) []string {
	var parts []string
	for _, p := range strings.Split(path, ".") {
		for p != "" {
			i := strings.IndexByte(p, '[')
			if i < 0 {
				parts = append(parts, p)
				break
			}
			if i > 0 {
				parts = append(parts, p[:i])
			}
			j := strings.IndexByte(p, ']')
			if j < i {
				break
			}
			parts = append(parts, p[i:j+1])
			p = p[j+1:]
		}
	}
	return parts
}

func child(n *yaml.Node, part string) *yaml.Node {
	if strings.HasPrefix(part, "[") {
		i, err := strconv.Atoi(strings.Trim(part, "[]"))
		if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
			return nil
		}
		return n.Content[i]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == part {
			return n.Content[i+1]
		}
	}
	return nil
}

func decodeStrict(n *yaml.Node, out any, prefix string) []FieldError {
	errs := checkKeys(n, reflect.TypeOf(out), prefix)
	if err := n.Decode(out); err != nil {
		errs = append(errs, typeErrors(n, err, prefix)...)
	}
	return errs
}

// checkKeys reports mapping keys that the Go type t has no field for.
func checkKeys(n *yaml.Node, t reflect.Type, path string) []FieldError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil || t == nodeType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	var errs []FieldError
	switch {
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			p := joinPath(path, k.Value)
			if !ok {
				errs = append(errs, FieldError{Line: k.Line, Path: p, Msg: fmt.Sprintf("unknown key (valid keys: %s)", strings.Join(sortedKeys(fields), ", "))})
				continue
			}
			errs = append(errs, checkKeys(n.Content[i+1], ft, p)...)
		}
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && n.Kind == yaml.SequenceNode:
		for i, c := range n.Content {
			errs = append(errs, checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			errs = append(errs, checkKeys(n.Content[i+1], t.Elem(), joinPath(path, n.Content[i].Value))...)
		}
	}
	return errs
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps YAML keys to field types, following inline structs.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				m[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// typeErrors turns yaml.v3's "line N: ..." messages into FieldErrors with paths.
func typeErrors(root *yaml.Node, err error, prefix string) []FieldError {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []FieldError{{Path: prefix, Line: root.Line, Msg: err.Error()}}
	}
	index := map[int][]pathNode{}
	indexLines(root, prefix, index)
	var errs []FieldError
	for _, msg := range te.Errors {
		fe := FieldError{Path: prefix, Msg: msg}
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			fe.Line, _ = strconv.Atoi(m[1])
			fe.Msg = m[2]
			fe.Path = bestPath(index[fe.Line], m[2], prefix)
		}
		errs = append(errs, fe)
	}
	return errs
}

type pathNode struct {
	path  string
	value string
	kind  yaml.Kind
}

func indexLines(n *yaml.Node, path string, index map[int][]pathNode) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := joinPath(path, n.Content[i].Value)
			v := n.Content[i+1]
			index[v.Line] = append(index[v.Line], pathNode{p, v.Value, v.Kind})
			indexLines(v, p, index)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			index[c.Line] = append(index[c.Line], pathNode{p, c.Value, c.Kind})
			indexLines(c, p, index)
		}
	}
}

func bestPath(cands []pathNode, msg, fallback string) string {
	if len(cands) == 0 {
		return fallback
	}
	if m := valueRE.FindStringSubmatch(msg); m != nil {
		for _, c := range cands {
			if c.value == m[1] {
				return c.path
			}
		}
	}
	for _, c := range cands {
		if strings.Contains(msg, strconv.Quote(c.value)) && c.value != "" {
			return c.path
		}
	}
	// "cannot unmarshal !!seq into string": the list, not its first item on the same line
	for _, c := range cands {
		if c.kind == yaml.SequenceNode && strings.Contains(msg, "!!seq") || c.kind == yaml.MappingNode && strings.Contains(msg, "!!map") {
			return c.path
		}
	}
	return cands[len(cands)-1].path
}

// Sort orders the errors by line, keeping the order of errors on one line.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
}
