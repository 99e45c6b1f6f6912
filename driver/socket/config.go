package socket

import (
	"fmt"
	"net/url"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver/internal/docpath"
	"github.com/gridbox/gridbox/model"
)

// Config is the configuration of one socket device (`driver: socket`).
type Config struct {
	config.DeviceCommon `yaml:",inline"`

	URL         string          `yaml:"url" doc:"tcp://host:port" required:"true"`
	Format      string          `yaml:"format" doc:"json or yaml" enum:"json|yaml"`
	Delimiter   string          `yaml:"delimiter" doc:"newline (one document per line) or document; default: json newline, yaml document" enum:"newline|document"`
	Timeout     config.Duration `yaml:"timeout" doc:"nothing received within: reconnect"`
	Backoff     config.Duration `yaml:"backoff" doc:"first reconnect delay, doubling"`
	MaxBackoff  config.Duration `yaml:"max_backoff" doc:"cap of the reconnect delay"`
	MaxDocument int64           `yaml:"max_document" doc:"bigger documents are dropped and counted"`
	Datapoints  []Point         `yaml:"datapoints"`
}

// Point is one datapoint: where its value is in each document.
type Point struct {
	Name   string  `yaml:"name"`
	Path   string  `yaml:"path"`   // dotted path with array indexes
	Scale  float64 `yaml:"scale"`  // value = raw × scale + offset (0 means 1)
	Offset float64 `yaml:"offset"` //
	// Datapoint metadata: format (default continuous_numeric), unit, role,
	// description, ... Socket datapoints are sensors.
	model.Meta `yaml:",inline"`
}

// Defaults of the optional keys.
const (
	DefaultTimeout     = 60 * time.Second
	DefaultBackoff     = time.Second
	DefaultMaxBackoff  = 30 * time.Second
	DefaultMaxDocument = 1 << 20
)

// Delimiters.
const (
	Newline  = "newline"
	Document = "document"
)

// NewConfig returns a Config with every default filled in.
func NewConfig() *Config {
	return &Config{
		Timeout:     config.Duration(DefaultTimeout),
		Backoff:     config.Duration(DefaultBackoff),
		MaxBackoff:  config.Duration(DefaultMaxBackoff),
		MaxDocument: DefaultMaxDocument,
	}
}

// Validate reports every problem with key paths relative to the device.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if _, err := parseURL(c.URL); err != nil {
		add("url", "%v", err)
	}
	if !config.OneOf(c.Format, docpath.JSON, docpath.YAML) {
		add("format", "%q: want json or yaml", c.Format)
	}
	if c.Delimiter != "" && !config.OneOf(c.Delimiter, Newline, Document) {
		add("delimiter", "%q: want newline or document", c.Delimiter)
	}
	for _, d := range []struct {
		key string
		v   config.Duration
	}{{"timeout", c.Timeout}, {"backoff", c.Backoff}, {"max_backoff", c.MaxBackoff}} {
		if d.v <= 0 {
			add(d.key, "%s: must be positive", d.v.D())
		}
	}
	if c.MaxDocument <= 0 {
		add("max_document", "%d: must be positive", c.MaxDocument)
	}
	if len(c.Datapoints) == 0 {
		add("datapoints", "no datapoints")
	}
	_, perrs := compile(c.Datapoints)
	return append(errs, perrs...)
}

// delimiter returns the configured delimiter or the format's default.
func (c *Config) delimiter() string {
	switch {
	case c.Delimiter != "":
		return c.Delimiter
	case c.Format == docpath.YAML:
		return Document
	}
	return Newline
}

// parseURL checks tcp://host:port and returns host:port.
func parseURL(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("missing (like tcp://192.168.1.80:7000)")
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", err
	case u.Scheme != "tcp":
		return "", fmt.Errorf("%q: want tcp://host:port", s)
	case u.Hostname() == "" || u.Port() == "":
		return "", fmt.Errorf("%q: want tcp://host:port", s)
	case u.RawQuery != "" || (u.Path != "" && u.Path != "/"):
		return "", fmt.Errorf("%q: want tcp://host:port without path or query (set format and delimiter as keys)", s)
	}
	return u.Host, nil
}

// compile fills in defaults and checks every point.
func compile(points []Point) ([]Point, []config.FieldError) {
	var errs []config.FieldError
	out := make([]Point, 0, len(points))
	seen := map[string]int{}
	for i, p := range points {
		at := fmt.Sprintf("datapoints[%d]", i)
		if p.Kind == "" {
			p.Kind = model.Sensor
		}
		if p.Format == "" {
			p.Format = model.ContinuousNumeric
		}
		if j, dup := seen[p.Name]; dup {
			errs = append(errs, config.Errf(at+".name", "%q is already used by datapoints[%d]", p.Name, j))
		}
		seen[p.Name] = i
		if p.Kind != model.Sensor {
			errs = append(errs, config.Errf(at+".kind", "socket datapoints are sensors (the socket is read only)"))
		}
		if err := docpath.CheckPath(docpath.JSON, p.Path); err != nil {
			errs = append(errs, config.Errf(at+".path", "%v", err))
		}
		if err := (&model.Datapoint{Name: p.Name, Meta: p.Meta}).CheckMeta(); err != nil {
			errs = append(errs, config.Errf(at+".name", "%v", err))
		}
		out = append(out, p)
	}
	return out, errs
}
