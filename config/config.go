// Package config loads and validates gridbox's YAML configuration (docs/config.md):
// defaults, `${ENV}` secrets, `GRIDBOX_<PATH>` overrides, unknown keys
// rejected, and every error reported at once with file, line and key path.
package config

import (
	"fmt"
	"os"
	"reflect"

	"gopkg.in/yaml.v3"
)

// Config is the whole gateway configuration: the keys every gateway has
// (site, log, devices) and one section per sink kind (mqtt, store, http, …),
// which the kind's own package decodes, defaults and checks (Decode).
type Config struct {
	Site    string   `yaml:"site"`
	Log     Log      `yaml:"log"`
	Devices []Device `yaml:"devices"`

	// Sections are the other top-level keys in file order, for the sink
	// kinds; a key no kind claims is an error of the gateway's check.
	Sections []Section `yaml:"-"`
	// File is the path the config was loaded from ("" when built in code).
	File string `yaml:"-"`
	// Env looks up environment variables for GRIDBOX_* overrides of sections.
	Env func(string) (string, bool) `yaml:"-"`
}

// Section is one top-level key left for a sink kind.
type Section struct {
	Key  string
	Line int        // of the key
	Node *yaml.Node // its value: a mapping, or a sequence for kinds with several instances
}

// Section returns the section with key k, or nil.
func (c *Config) Section(k string) *Section {
	for i := range c.Sections {
		if c.Sections[i].Key == k {
			return &c.Sections[i]
		}
	}
	return nil
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Device is one entry of `devices:`. Only id and driver are decoded here; the
// driver decodes the rest from Node with Decode.
type Device struct {
	DeviceCommon
	Node *yaml.Node
}

// UnmarshalYAML keeps the raw node for the driver and reads id and driver.
func (d *Device) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a device must be a mapping", n.Line)}}
	}
	d.Node = n
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "id":
			d.ID = n.Content[i+1].Value
		case "driver":
			d.Driver = n.Content[i+1].Value
		}
	}
	return nil
}

// Defaults returns a config with every default of the core keys filled in,
// no devices and no sections (each sink kind has its own defaults).
func Defaults() *Config {
	return &Config{Site: "gridbox", Log: Log{Level: "info", Format: "text"}}
}

// Load reads, overrides and validates a config file. The error, if any, is
// an Errors listing every problem found; the config is then still returned
// (as far as it decoded) so that callers can check the devices too.
func Load(path string, env func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path, env)
}

// Parse is Load on bytes; file names the source in errors.
func Parse(data []byte, file string, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	cfg := Defaults()
	cfg.File, cfg.Env = file, env
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		fe := syntaxError(data, err)
		fe.File = file
		return nil, Errors{fe}
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if doc.Kind == 0 {
		root = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	if root.Kind != yaml.MappingNode {
		return nil, Errors{{File: file, Line: root.Line, Msg: "the config must be a YAML mapping"}}
	}
	var errs Errors
	errs = append(errs, expandSecrets(root, "", env)...)
	errs = append(errs, applyEnv(root, EnvOverrides(), env)...)
	core, sections := splitSections(root)
	cfg.Sections = sections
	errs = append(errs, decodeStrict(core, cfg, "")...)
	errs = append(errs, validate(cfg, root)...)
	for i := range errs {
		errs[i].File = file
	}
	if len(errs) > 0 {
		errs.Sort()
		return cfg, errs
	}
	return cfg, nil
}

// splitSections separates the core keys (the fields of Config) from the
// sections of the sink kinds.
func splitSections(root *yaml.Node) (*yaml.Node, []Section) {
	fields := yamlFields(reflect.TypeOf(Config{}))
	core := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: root.Line, Column: root.Column}
	var sections []Section
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if _, ok := fields[k.Value]; ok {
			core.Content = append(core.Content, k, v)
			continue
		}
		sections = append(sections, Section{Key: k.Value, Line: k.Line, Node: v})
	}
	return core, sections
}
