package httpdrv

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/docpath"
	"github.com/gridbox/gridbox/model"
	"gopkg.in/yaml.v3"
)

// Profile is an HTTP device profile: the request that reads the device
// (relative to the device's base URL), the answer's format and the
// datapoints' paths.
type Profile struct {
	Name        string           `yaml:"name"`
	Driver      string           `yaml:"driver"` // must be http
	Description string           `yaml:"description"`
	Sign        string           `yaml:"sign"`
	Request     Request          `yaml:"request"`
	Format      string           `yaml:"format"`   // json, xml or keyvalue
	Pause       *config.Duration `yaml:"pause"`    // default pause between requests (rate limit)
	PerUnit     bool             `yaml:"per_unit"` // the device needs `units:` (one request per meter)
	Points      []Point          `yaml:"datapoints"`
}

// Request is a profile's read request.
type Request struct {
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"` // below the base URL, may hold {{.Unit}}
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
}

// ParseProfile decodes a profile strictly and checks its datapoints.
func ParseProfile(data []byte, source string) (*Profile, error) {
	var head struct {
		Driver string `yaml:"driver"`
	}
	if err := yaml.Unmarshal(data, &head); err == nil && head.Driver != "" && head.Driver != "http" {
		return nil, fmt.Errorf("%s: profile is for driver %q, want http", source, head.Driver)
	}
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty profile", source)
		}
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	var errs config.Errors
	if p.Driver != "http" {
		errs = append(errs, config.Errf("driver", "profile is for driver %q, want http", p.Driver))
	}
	if !config.OneOf(p.Format, docpath.JSON, docpath.XML, docpath.KeyValue) {
		errs = append(errs, config.Errf("format", "%q: want json, xml or keyvalue", p.Format))
	}
	if p.Request.Path == "" {
		errs = append(errs, config.Errf("request.path", "missing"))
	}
	if p.Request.Method != "" && !validMethod(p.Request.Method) {
		errs = append(errs, config.Errf("request.method", "%q is not an HTTP method", p.Request.Method))
	}
	if _, err := parseTemplate(p.Request.Body); err != nil {
		errs = append(errs, config.Errf("request.body", "%v", err))
	}
	if len(p.Points) == 0 {
		errs = append(errs, config.Errf("datapoints", "profile has no datapoints"))
	}
	_, perrs := compilePoints(p.Points, nil, p.Format, "datapoints")
	errs = append(errs, perrs...)
	if len(errs) > 0 {
		locate(data, source, errs)
		return nil, errs
	}
	return &p, nil
}

func locate(data []byte, source string, errs config.Errors) {
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	for i := range errs {
		errs[i].File = source
		if len(root.Content) > 0 {
			errs[i].Line = config.Locate(root.Content[0], errs[i].Path)
		}
	}
}

// Datapoints lists the profile's datapoints (without device and units).
func (p *Profile) Datapoints() []model.Datapoint {
	fields, _ := compilePoints(p.Points, nil, p.Format, "datapoints")
	out := make([]model.Datapoint, 0, len(fields))
	for _, f := range fields {
		out = append(out, f.datapoint())
	}
	return out
}

// loadProfile loads a profile through src; problems have the key "profile".
func loadProfile(name string, src driver.ProfileSource) (*Profile, []config.FieldError) {
	if name == "" {
		return nil, nil
	}
	if src == nil {
		return nil, []config.FieldError{config.Errf("profile", "profile %q: no profile source", name)}
	}
	data, source, err := src.Load(name)
	if err != nil {
		return nil, []config.FieldError{config.Errf("profile", "%v", err)}
	}
	p, err := ParseProfile(data, source)
	var perrs config.Errors
	switch {
	case errors.As(err, &perrs):
		errs := make([]config.FieldError, len(perrs))
		for i, e := range perrs {
			errs[i] = config.Errf("profile", "%s", e.Error())
		}
		return nil, errs
	case err != nil:
		return nil, []config.FieldError{config.Errf("profile", "%v", err)}
	}
	return p, nil
}

// CheckProfile reports what is wrong with the profile, for `gridbox check`.
func (c *Config) CheckProfile(src driver.ProfileSource) []config.FieldError {
	_, errs := loadProfile(c.Profile, src)
	return errs
}
