package keba

import (
	"bytes"
	"fmt"

	"github.com/gridbox/gridbox/model"
	"gopkg.in/yaml.v3"
)

// Profile is the keba-p30 profile: the station's datapoints as the driver
// knows them, for listings.
type Profile struct {
	Name        string `yaml:"name"`
	Driver      string `yaml:"driver"`
	Description string `yaml:"description"`
	Sign        string `yaml:"sign"`
	Datapoints  []struct {
		Name        string  `yaml:"name"`
		Report      int     `yaml:"report"`
		Key         string  `yaml:"key"`
		Scale       float64 `yaml:"scale"`
		Kind        string  `yaml:"kind"`
		Unit        string  `yaml:"unit"`
		Role        string  `yaml:"role"`
		Description string  `yaml:"description"`
	} `yaml:"datapoints"`
}

// ParseProfile decodes a keba profile strictly and checks that it lists
// exactly the driver's datapoints (report, key, scale, kind, unit, role).
func ParseProfile(data []byte, source string) (*Profile, error) {
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if p.Driver != "keba" {
		return nil, fmt.Errorf("%s: profile is for driver %q, want keba", source, p.Driver)
	}
	if len(p.Datapoints) != len(points) {
		return nil, fmt.Errorf("%s: %d datapoints, the driver has %d", source, len(p.Datapoints), len(points))
	}
	for i, d := range p.Datapoints {
		pt := points[i]
		scale := d.Scale
		if scale == 0 && pt.report != 0 && pt.meta.Format != model.GenericText {
			scale = 1
		}
		if d.Name != pt.name || d.Report != pt.report || d.Key != pt.key || scale != pt.scale ||
			d.Kind != string(pt.meta.Kind) || d.Unit != pt.meta.Unit || d.Role != pt.meta.Role {
			return nil, fmt.Errorf("%s: datapoint %d (%s) differs from the driver's %s", source, i, d.Name, pt.name)
		}
	}
	return &p, nil
}
