package config

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Schema is a JSON Schema (draft 2020-12) document or subschema.
type Schema = map[string]any

var (
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
	durationType    = reflect.TypeFor[Duration]()
)

// SchemaOf reflects a config struct (or any type of one of its fields) into
// a JSON Schema as the strict YAML decoder reads it: keys from the yaml
// tags, inline structs merged, unknown keys rejected. A type with its own
// YAML decoding accepts any scalar (its decoder names what is wrong);
// Duration is a string like "5s".
func SchemaOf(t reflect.Type) Schema {
	return schemaOf(t, map[reflect.Type]bool{})
}

func schemaOf(t reflect.Type, visiting map[reflect.Type]bool) Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return Schema{"type": "string", "pattern": `^(\$\{[A-Za-z_][A-Za-z0-9_]*\}|[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+|[-+]?0)$`}
	case reflect.PointerTo(t).Implements(yamlUnmarshaler) || t.Implements(yamlUnmarshaler):
		return Schema{}
	}
	switch t.Kind() {
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.Slice, reflect.Array:
		return Schema{"type": "array", "items": schemaOf(t.Elem(), visiting)}
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": schemaOf(t.Elem(), visiting)}
	case reflect.Struct:
		if visiting[t] {
			return Schema{} // a recursive type: its inner levels are not checked
		}
		visiting[t] = true
		defer delete(visiting, t)
		props := Schema{}
		addFields(t, props, visiting)
		out := Schema{"type": "object", "properties": props, "additionalProperties": false}
		var req []string
		for name, p := range props {
			if ps, ok := p.(Schema); ok && ps["x-required"] == true {
				delete(ps, "x-required")
				req = append(req, name)
			}
		}
		if len(req) > 0 {
			sort.Strings(req)
			out["required"] = req
		}
		return out
	}
	return Schema{}
}

// addFields adds the properties of struct t's fields (inline ones merged).
func addFields(t reflect.Type, props Schema, visiting map[reflect.Type]bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") || (f.Anonymous && tag == "") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(ft, props, visiting)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		props[name] = annotate(schemaOf(f.Type, visiting), f.Tag)
	}
}

// annotate adds what a field's tags say beyond its type: `doc:"…"` (the
// description), `enum:"a|b"` (the allowed values, of the field's type) and
// `required:"true"` (marked x-required here; schemaOf moves it to the
// object's required list).
func annotate(s Schema, tag reflect.StructTag) Schema {
	if d := tag.Get("doc"); d != "" {
		s["description"] = d
	}
	if e := tag.Get("enum"); e != "" {
		var vals []any
		for v := range strings.SplitSeq(e, "|") {
			switch s["type"] {
			case "integer":
				n, _ := strconv.Atoi(v)
				vals = append(vals, n)
			default:
				vals = append(vals, v)
			}
		}
		s["enum"] = vals
	}
	if tag.Get("required") == "true" {
		s["x-required"] = true
	}
	return s
}

// SchemaOfValue is SchemaOf(v's type) with the default of every scalar
// field: its value in v when it is not the zero value (a config as its
// NewConfig returns it, with the defaults filled in).
func SchemaOfValue(v any) Schema {
	s := SchemaOf(reflect.TypeOf(v))
	props, ok := s["properties"].(Schema)
	if !ok {
		return s
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.Struct {
		addDefaults(rv, props)
	}
	return s
}

// addDefaults sets "default" of the scalar properties whose field in v is set.
func addDefaults(v reflect.Value, props Schema) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		fv := v.Field(i)
		if strings.Contains(opts, "inline") || (f.Anonymous && tag == "") {
			if fv.Kind() == reflect.Struct {
				addDefaults(fv, props)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		p, ok := props[name].(Schema)
		if !ok {
			continue
		}
		for fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				break
			}
			fv = fv.Elem()
		}
		if fv.Kind() == reflect.Pointer || fv.IsZero() {
			continue
		}
		switch {
		case fv.Type() == durationType:
			p["default"] = time.Duration(fv.Int()).String()
		case fv.Kind() == reflect.String, fv.Kind() == reflect.Bool:
			p["default"] = fv.Interface()
		case fv.CanInt():
			p["default"] = fv.Int()
		case fv.CanUint():
			p["default"] = fv.Uint()
		case fv.CanFloat():
			p["default"] = fv.Float()
		}
	}
}
