package config

import (
	"reflect"
	"strings"

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
		return Schema{"type": "object", "properties": props, "additionalProperties": false}
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
		props[name] = schemaOf(f.Type, visiting)
	}
}
