package gateway

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
	"gopkg.in/yaml.v3"
)

// instance is one configured sink: its kind, name and config, and once
// started the sink itself.
type instance struct {
	kind sink.Kind
	name string
	cfg  sink.Config
	s    sink.Sink
}

// buildSinks decodes and checks the section of every sink kind into the
// instances to start, and reports every problem with file, line and key
// path: a top-level key no kind claims, a list where the kind takes one
// mapping, bad or repeated instance names, and each kind's own checks.
func buildSinks(cfg *config.Config, kinds []sink.Kind) ([]*instance, config.Errors) {
	var out []*instance
	var errs config.Errors
	known := map[string]bool{}
	for _, k := range kinds {
		known[k.Name] = true
		ins, kerrs := buildKind(cfg, k)
		out, errs = append(out, ins...), append(errs, kerrs...)
	}
	for _, s := range cfg.Sections {
		if !known[s.Key] {
			errs = append(errs, config.FieldError{Line: s.Line, Path: s.Key, Msg: "unknown key (valid keys: " + strings.Join(topKeys(kinds), ", ") + ")"})
		}
	}
	seen := map[string]string{}
	for _, in := range out {
		if prev, dup := seen[in.name]; dup {
			errs = append(errs, config.FieldError{Line: sectionLine(cfg, in.kind.Name), Path: in.kind.Name, Msg: fmt.Sprintf("sink name %q is used twice (%s and %s): give each instance its own name:", in.name, prev, in.kind.Name)})
		}
		seen[in.name] = in.kind.Name
	}
	for i := range errs {
		errs[i].File = cfg.File
	}
	return out, errs
}

// buildKind makes the instances of one kind: one with the defaults when its
// section is absent (if the kind has a default instance), one per mapping.
func buildKind(cfg *config.Config, k sink.Kind) ([]*instance, []config.FieldError) {
	sec := cfg.Section(k.Name)
	if sec == nil {
		if !k.Default {
			return nil, nil
		}
		sec = &config.Section{Key: k.Name, Node: &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}}
	}
	switch sec.Node.Kind {
	case yaml.MappingNode:
		config.ApplyEnv(sec.Node, config.EnvFor(k.Name, k.NewConfig()), cfg.Env)
		in, errs := buildInstance(k, sec.Node, k.Name, k.Name)
		return keep(in), errs
	case yaml.SequenceNode:
		if k.Sequence {
			return sequenceInstance(k, sec.Node)
		}
		if !k.List {
			return nil, []config.FieldError{{Line: sec.Node.Line, Path: k.Name, Msg: "a list is not allowed here: want one mapping"}}
		}
		var out []*instance
		var errs []config.FieldError
		for i, item := range sec.Node.Content {
			name := k.Name
			if i > 0 {
				name = fmt.Sprintf("%s-%d", k.Name, i+1)
			}
			in, ierrs := buildInstance(k, item, fmt.Sprintf("%s[%d]", k.Name, i), name)
			out, errs = append(out, keep(in)...), append(errs, ierrs...)
		}
		return out, errs
	case yaml.ScalarNode:
		if sec.Node.Tag == "!!null" { // `mqtt:` with nothing after it: the defaults
			return buildKind(&config.Config{Env: cfg.Env}, k)
		}
	}
	return nil, []config.FieldError{{Line: sec.Node.Line, Path: k.Name, Msg: "want a mapping" + map[bool]string{true: " or a list of mappings", false: ""}[k.List]}}
}

// sequenceInstance decodes a kind's list section as one instance whose
// config holds the list under `items`; errors keep the section's own paths.
func sequenceInstance(k sink.Kind, seq *yaml.Node) ([]*instance, []config.FieldError) {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: seq.Line, Column: seq.Column, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "items", Line: seq.Line, Column: seq.Column}, seq,
	}}
	in, errs := buildInstance(k, m, k.Name, k.Name)
	for i := range errs {
		if rest, ok := strings.CutPrefix(errs[i].Path, k.Name+".items"); ok {
			errs[i].Path = k.Name + rest
		}
	}
	return keep(in), errs
}

// buildInstance decodes one mapping n of kind k; a `name:` key names the
// instance (default name otherwise).
func buildInstance(k sink.Kind, n *yaml.Node, path, name string) (*instance, []config.FieldError) {
	if n.Kind != yaml.MappingNode {
		return nil, []config.FieldError{{Line: n.Line, Path: path, Msg: "want a mapping"}}
	}
	var errs []config.FieldError
	n, given, line := withoutName(n)
	if given != "" {
		if !model.ValidID(given) {
			errs = append(errs, config.FieldError{Line: line, Path: path + ".name", Msg: fmt.Sprintf("%q is not a slug ([a-z0-9][a-z0-9_-]*)", model.Short(given))})
		}
		name = given
	}
	c := k.NewConfig()
	derrs := config.Decode(n, c, path)
	errs = append(errs, derrs...)
	for _, e := range c.Validate() {
		p := joinPath(path, e.Path)
		if !reportedAt(derrs, p) {
			errs = append(errs, config.FieldError{Line: config.Locate(n, e.Path), Path: p, Msg: e.Msg})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &instance{kind: k, name: name, cfg: c}, nil
}

// withoutName returns n without its `name:` key, the name and its line.
func withoutName(n *yaml.Node) (*yaml.Node, string, int) {
	out := *n
	out.Content = nil
	name, line := "", 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			name, line = n.Content[i+1].Value, n.Content[i+1].Line
			continue
		}
		out.Content = append(out.Content, n.Content[i], n.Content[i+1])
	}
	return &out, name, line
}

func keep(in *instance) []*instance {
	if in == nil {
		return nil
	}
	return []*instance{in}
}

func joinPath(a, b string) string {
	if b == "" {
		return a
	}
	return a + "." + b
}

func sectionLine(cfg *config.Config, key string) int {
	if s := cfg.Section(key); s != nil {
		return s.Line
	}
	return 0
}

// topKeys lists every valid top-level key: the core keys and the kinds.
func topKeys(kinds []sink.Kind) []string {
	keys := []string{"site", "log", "devices"}
	for _, k := range kinds {
		keys = append(keys, k.Name)
	}
	sort.Strings(keys)
	return keys
}
