package dlconfig

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Edit returns the gridbox config old (YAML or JSON) with its devices
// replaced by r's and r's keys set in dialects.datalogger when that
// section is there; everything else (the sinks, comments) stays.
func Edit(old []byte, r Result) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(old, &doc); err != nil {
		return nil, fmt.Errorf("running config: %w", err)
	}
	if doc.Kind == 0 { // empty file
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("running config: not a mapping")
	}
	if err := set(top, "devices", r.Devices); err != nil {
		return nil, err
	}
	targets := []*yaml.Node{get(get(top, "dialects"), "datalogger")}
	if ups := get(top, "uplink"); ups != nil {
		items := ups.Content
		if ups.Kind == yaml.MappingNode { // a single uplink
			items = []*yaml.Node{ups}
		}
		for _, u := range items {
			if f := get(u, "format"); f != nil && f.Value == "datalogger" {
				if get(u, "datalogger") == nil {
					if err := set(u, "datalogger", map[string]any{}); err != nil {
						return nil, err
					}
				}
				targets = append(targets, get(u, "datalogger"))
			}
		}
	}
	for _, dl := range targets {
		if err := setKeys(dl, r.Dialect); err != nil {
			return nil, err
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("new config: %w", err)
	}
	return out, nil
}

// setKeys sets the payload keys of a dialects.datalogger section or an
// uplink's datalogger section (nil: there is none).
func setKeys(dl *yaml.Node, keys map[string]any) error {
	if dl == nil {
		return nil
	}
	if dl.Kind != yaml.MappingNode { // `datalogger:` with nothing, or null
		*dl = yaml.Node{Kind: yaml.MappingNode}
	}
	for _, k := range []string{"read_interval", "read_roundtime", "vendor_ids", "field_names", "fields"} {
		if v, ok := keys[k]; ok {
			if err := set(dl, k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// get returns the value of key k in mapping m, or nil.
func get(m *yaml.Node, k string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			return m.Content[i+1]
		}
	}
	return nil
}

// set sets key k of mapping m to v (added at the end when missing).
func set(m *yaml.Node, k string, v any) error {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return fmt.Errorf("%s: %w", k, err)
	}
	if cur := get(m, k); cur != nil {
		*cur = n
		return nil
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, &n)
	return nil
}
