package knx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
	"gopkg.in/yaml.v3"
)

// keyForm is the building framework's KNX connector configuration: group
// addresses with a DPT, split into sensors and actuators, like
// {"sensor": {"2/3/111": "DPST-3-7"}, "actuator": {"2/3/113": "DPST-1-1"}}.
type keyForm struct {
	Sensor   map[string]string `yaml:"sensor"`
	Actuator map[string]string `yaml:"actuator"`
}

// ParseProfile reads a profile in the KNX key form (JSON or YAML) into
// datapoints named after their group address ("2/3/111" → "2-3-111").
// source names the file in errors.
func ParseProfile(data []byte, source string) ([]Datapoint, error) {
	var kf keyForm
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&kf); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty profile", source)
		}
		return nil, fmt.Errorf("%s: %w (want the KNX key form {\"sensor\": {\"1/2/3\": \"DPST-9-1\"}, \"actuator\": {...}})", source, err)
	}
	var dps []Datapoint
	for _, side := range []struct {
		kind model.Kind
		m    map[string]string
	}{{model.Sensor, kf.Sensor}, {model.Actuator, kf.Actuator}} {
		gas := make([]string, 0, len(side.m))
		for ga := range side.m {
			gas = append(gas, ga)
		}
		sort.Strings(gas)
		for _, ga := range gas {
			dps = append(dps, Datapoint{Name: strings.ReplaceAll(ga, "/", "-"), GA: ga, DPT: side.m[ga], Meta: model.Meta{Kind: side.kind}})
		}
	}
	if len(dps) == 0 {
		return nil, fmt.Errorf("%s: profile has no group addresses", source)
	}
	if _, errs := compile(dps, "profile"); len(errs) > 0 {
		for i := range errs {
			errs[i].File = source
		}
		return nil, config.Errors(errs)
	}
	return dps, nil
}

// loadProfile returns the datapoints of the profile key (nil without one),
// every problem under the key path "profile".
func (c *Config) loadProfile(src driver.ProfileSource) ([]Datapoint, []config.FieldError) {
	if c.Profile == "" {
		return nil, nil
	}
	if src == nil {
		return nil, []config.FieldError{config.Errf("profile", "profile %q: no profile source", c.Profile)}
	}
	data, source, err := src.Load(c.Profile)
	if err != nil {
		return nil, []config.FieldError{config.Errf("profile", "%v", err)}
	}
	dps, err := ParseProfile(data, source)
	if err != nil {
		return nil, []config.FieldError{config.Errf("profile", "%v", err)}
	}
	return dps, nil
}

// CheckProfile reports what is wrong with the profile, if any.
func (c *Config) CheckProfile(src driver.ProfileSource) []config.FieldError {
	_, errs := c.loadProfile(src)
	return errs
}

// merge returns the profile's datapoints with the inline ones added, an
// inline datapoint replacing a profile datapoint of the same name.
func merge(profile, inline []Datapoint) []Datapoint {
	byName := make(map[string]bool, len(inline))
	for _, d := range inline {
		byName[d.Name] = true
	}
	out := make([]Datapoint, 0, len(profile)+len(inline))
	for _, d := range profile {
		if !byName[d.Name] {
			out = append(out, d)
		}
	}
	return append(out, inline...)
}
