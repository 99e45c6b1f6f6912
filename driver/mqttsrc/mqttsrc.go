// Package mqttsrc is gridbox's remote MQTT source (`driver: mqtt`): it
// subscribes to topics of another broker (wildcards allowed), reads plain
// or JSON payloads into datapoints and publishes writes to configured
// topics. The package name keeps it apart from the mqtt sink.
package mqttsrc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/devstat"
	"github.com/gridbox/gridbox/model"
	"gopkg.in/yaml.v3"
)

// Factory returns the driver's factory for the gateway's driver table.
func Factory() driver.Factory {
	return driver.Factory{
		Name:      "mqtt",
		NewConfig: func() driver.Config { return NewConfig() },
		New:       NewDevice,
	}
}

// Profile is an MQTT source profile: datapoints for a known product's topics.
type Profile struct {
	Name        string  `yaml:"name"`
	Driver      string  `yaml:"driver"` // must be mqtt
	Description string  `yaml:"description"`
	Sign        string  `yaml:"sign"`
	Datapoints  []Point `yaml:"datapoints"`
}

// ParseProfile decodes a profile strictly and checks its datapoints.
func ParseProfile(data []byte, source string) (*Profile, error) {
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty profile", source)
		}
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if p.Driver != "mqtt" {
		return nil, fmt.Errorf("%s: profile is for driver %q, want mqtt", source, p.Driver)
	}
	if len(p.Datapoints) == 0 {
		return nil, fmt.Errorf("%s: profile has no datapoints", source)
	}
	if _, errs := compile(p.Datapoints, "profile/topic", "datapoints"); len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", source, config.Errors(errs))
	}
	return &p, nil
}

// NewDevice builds a source from a validated *Config, merging the profile.
func NewDevice(c driver.Config, env driver.Env) (driver.Device, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("mqtt: config is %T, want *mqttsrc.Config", c)
	}
	points := cfg.Datapoints
	if cfg.Profile != "" {
		if env.Profiles == nil {
			return nil, config.Errors{config.Errf("profile", "profile %q: no profile source", cfg.Profile)}
		}
		data, src, err := env.Profiles.Load(cfg.Profile)
		if err != nil {
			return nil, config.Errors{config.Errf("profile", "%v", err)}
		}
		p, err := ParseProfile(data, src)
		if err != nil {
			return nil, config.Errors{config.Errf("profile", "%v", err)}
		}
		points = merge(p.Datapoints, cfg.Datapoints)
		if cfg.Topic == "" && slices.ContainsFunc(p.Datapoints, func(pt Point) bool { return pt.Topic == "" }) {
			return nil, config.Errors{config.Errf("topic", "missing: the datapoints of profile %q read the device's topic (like topic: meters/house)", cfg.Profile)}
		}
	}
	specs, errs := compile(points, cfg.Topic, "datapoints")
	if len(errs) > 0 {
		return nil, config.Errors(errs)
	}
	t, err := parseBroker(cfg.Broker)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if cfg.Username != "" {
		t.user, t.pass = cfg.Username, cfg.Password
	}
	tlsCfg, err := tlsConfig(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Device{cfg: cfg, specs: specs, t: t, tls: tlsCfg, log: log, cat: env.Catalog,
		bad: devstat.NewMalformed(env.Metrics, "mqtt", cfg.ID), known: map[string]model.Format{}, static: map[string]*spec{}}
	for _, s := range specs {
		if !s.wild {
			d.static[s.Name] = s
			d.known[s.Name] = s.datapoint(s.Name, "").Format
		}
	}
	d.state.Device = cfg.ID
	return d, nil
}

// merge returns the profile's points with the inline ones added, an inline
// point replacing a profile point of the same name.
func merge(profile, inline []Point) []Point {
	byName := map[string]bool{}
	for _, p := range inline {
		byName[p.Name] = true
	}
	var out []Point
	for _, p := range profile {
		if !byName[p.Name] {
			out = append(out, p)
		}
	}
	return append(out, inline...)
}
