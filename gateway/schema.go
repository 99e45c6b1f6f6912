package gateway

import (
	"encoding/json"
	"reflect"
	"sort"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/sink"
)

// SchemaID is the $id of the config's JSON Schema (docs/gridbox.schema.json).
const SchemaID = "https://github.com/gridbox/gridbox/docs/gridbox.schema.json"

// ConfigSchema returns the JSON Schema of a gridbox config, reflected from
// the core's config structs and those of every built-in driver and sink
// kind. Editors use it for completion and checks (docs/config.md); `gridbox
// check` remains the authority (it also checks values and cross-references).
func ConfigSchema() ([]byte, error) {
	core := config.SchemaOf(reflect.TypeFor[config.Config]())
	props := core["properties"].(config.Schema)
	defs := config.Schema{}
	props["devices"] = devicesSchema(defs)
	for _, k := range builtinSinks() {
		props[k.Name] = sectionSchema(k)
	}
	doc := config.Schema{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaID,
		"title":                "gridbox configuration",
		"description":          "Generated from the code (go test ./gateway -run TestConfigSchema -update-schema); see docs/config.md.",
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
		"$defs":                defs,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// devicesSchema is `devices:`: each entry has an id and a known driver, and
// the keys of that driver's config (in defs as driver.<name>).
func devicesSchema(defs config.Schema) config.Schema {
	var names []string
	var branches []any
	for _, f := range builtinDrivers() {
		names = append(names, f.Name)
		defs["driver."+f.Name] = config.SchemaOfValue(f.NewConfig())
		branches = append(branches, config.Schema{
			"if":   config.Schema{"properties": config.Schema{"driver": config.Schema{"const": f.Name}}, "required": []string{"driver"}},
			"then": config.Schema{"$ref": "#/$defs/driver." + f.Name},
		})
	}
	sort.Strings(names)
	return config.Schema{"type": "array", "items": config.Schema{
		"type":     "object",
		"required": []string{"id", "driver"},
		"properties": config.Schema{
			"id":     config.Schema{"type": "string"},
			"driver": config.Schema{"enum": names},
		},
		"allOf": branches,
	}}
}

// sectionSchema is the top-level section of a sink kind: one mapping, a list
// of them for kinds with several instances, or the item list of a
// Sequence kind.
func sectionSchema(k sink.Kind) config.Schema {
	t := reflect.TypeOf(k.NewConfig())
	one := config.SchemaOf(t)
	switch {
	case k.Sequence:
		if items, ok := one["properties"].(config.Schema)["items"]; ok {
			return config.Schema{"anyOf": []any{items, config.Schema{"type": "null"}}}
		}
	case k.List:
		if props, ok := one["properties"].(config.Schema); ok {
			if _, has := props["name"]; !has {
				props["name"] = config.Schema{"type": "string"}
			}
		}
		return config.Schema{"anyOf": []any{one, config.Schema{"type": "array", "items": one}}}
	}
	return one
}

// deviceSchemas is the JSON Schema of one device entry of every driver in
// fs, by driver name, with defaults and descriptions: the web UI's device
// form (sink.Env.DeviceSchemas, GET /api/v1/drivers).
func deviceSchemas(fs []driver.Factory) map[string]config.Schema {
	out := make(map[string]config.Schema, len(fs))
	for _, f := range fs {
		out[f.Name] = config.SchemaOfValue(f.NewConfig())
	}
	return out
}
