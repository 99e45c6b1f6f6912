// Package config loads and validates gridbox's YAML configuration (SPEC §4):
// defaults, `${ENV}` secrets, `GRIDBOX_<PATH>` overrides, unknown keys
// rejected, and every error reported at once with file, line and key path.
package config

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// Config is the whole gateway configuration.
type Config struct {
	Site    string   `yaml:"site"`
	HTTP    HTTP     `yaml:"http"`
	MQTT    MQTT     `yaml:"mqtt"`
	Store   Store    `yaml:"store"`
	Log     Log      `yaml:"log"`
	Devices []Device `yaml:"devices"`

	// File is the path the config was loaded from ("" when built in code).
	File string `yaml:"-"`
}

// HTTP configures the REST API and web UI.
type HTTP struct {
	Listen      string   `yaml:"listen"`
	Auth        string   `yaml:"auth"` // token (default), read-open, none
	Tokens      []string `yaml:"tokens"`
	MetricsAuth string   `yaml:"metrics_auth"` // none (default) or token
}

// MQTT configures the broker connection and native topics.
type MQTT struct {
	Broker   string `yaml:"broker"` // "embedded" or a URL
	Listen   string `yaml:"listen"` // listener of the embedded broker
	Prefix   string `yaml:"prefix"`
	ClientID string `yaml:"client_id"`
	Buffer   int    `yaml:"buffer"`  // values kept while disconnected
	QoS      int    `yaml:"qos"`     // QoS of value messages
	CAFile   string `yaml:"ca_file"` // PEM CAs trusted for mqtts:// and mqtts5:// instead of the system roots

	// Limits of the embedded broker; 0 means the broker package's default.
	MaxPacketSize int `yaml:"max_packet_size"` // bytes; a larger packet disconnects its client
	MaxClients    int `yaml:"max_clients"`     // connections beyond it are refused
	MaxQueued     int `yaml:"max_queued"`      // messages queued per client before drops (counted)
}

// Store configures the embedded history store.
type Store struct {
	Path          string   `yaml:"path"`
	BatchSize     int      `yaml:"batch_size"`
	FlushInterval Duration `yaml:"flush_interval"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Device is one entry of `devices:`. Only id and driver are decoded here; the
// driver decodes the rest from Node with DecodeDevice.
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

// Defaults returns a config with every default filled in and no devices.
func Defaults() *Config {
	return &Config{
		Site:  "gridbox",
		HTTP:  HTTP{Listen: ":8080", Auth: "token", MetricsAuth: "none"},
		MQTT:  MQTT{Broker: "embedded", Listen: ":1883", Prefix: "gridbox", Buffer: 10000},
		Store: Store{Path: "./data", BatchSize: 5000, FlushInterval: Duration(500e6)},
		Log:   Log{Level: "info", Format: "text"},
	}
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
	cfg.File = file
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
	errs = append(errs, applyEnv(root, env)...)
	errs = append(errs, decodeStrict(root, cfg, "")...)
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
