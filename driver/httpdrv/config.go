package httpdrv

import (
	"fmt"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver/internal/docpath"
	"github.com/gridbox/gridbox/model"
)

// Config is the configuration of one HTTP device (`driver: http`).
// NewConfig fills in the defaults before the YAML is decoded over it.
type Config struct {
	config.DeviceCommon `yaml:",inline"`

	URL         string            `yaml:"url" doc:"the request URL; with a profile the device's base URL" required:"true"`
	Method      string            `yaml:"method" doc:"GET (default), POST, ..."`
	Headers     map[string]string `yaml:"headers" doc:"extra request headers"`
	Body        string            `yaml:"body" doc:"request body template ({{.Unit}})"`
	Auth        *Auth             `yaml:"auth" doc:"basic or bearer"`
	Format      string            `yaml:"format" doc:"json, xml or keyvalue" enum:"json|xml|keyvalue"`
	Profile     string            `yaml:"profile" doc:"built-in profile name or file path"`
	Units       []string          `yaml:"units" doc:"one request per unit (meter id), {{.Unit}} in url and body"`
	Datapoints  []Point           `yaml:"datapoints"`
	Interval    config.Duration   `yaml:"interval" doc:"poll interval"`
	Timeout     config.Duration   `yaml:"timeout" doc:"per request"`
	Pause       *config.Duration  `yaml:"pause" doc:"between two requests (rate limit); unset: the profile's"`
	MaxBody     int64             `yaml:"max_body" doc:"answers above this many bytes are refused"`
	MinWriteGap config.Duration   `yaml:"write_gap" doc:"minimum time between two writes to one datapoint"`
}

// Auth is basic (username, password) or bearer (token) authentication.
type Auth struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	Token    string `yaml:"token"`
}

// Point is one datapoint: where its value is in the answer, how it scales,
// its metadata and, for an actuator, the request that writes it.
type Point struct {
	Name   string  `yaml:"name"`
	Path   string  `yaml:"path"`   // JSON dotted path, XML element path or key
	Scale  float64 `yaml:"scale"`  // value = raw × scale + offset (0 means 1)
	Offset float64 `yaml:"offset"` //
	Write  *Write  `yaml:"write"`  // actuators: the request that sets the value
	// Datapoint metadata: kind (default sensor), format (default
	// continuous_numeric), unit, min, max, allowed, description, role.
	model.Meta `yaml:",inline"`
}

// Write is a configured request that sets an actuator; {{.Value}} and
// {{.Unit}} are replaced in path and body.
type Write struct {
	Method  string            `yaml:"method"` // default POST
	Path    string            `yaml:"path"`   // path below the base URL, or a full URL
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
}

// Defaults of the optional keys.
const (
	DefaultInterval = 5 * time.Second
	DefaultTimeout  = 2 * time.Second
	DefaultMaxBody  = 1 << 20
	DefaultWriteGap = time.Second
)

// NewConfig returns a Config with every default filled in.
func NewConfig() *Config {
	return &Config{
		Interval:    config.Duration(DefaultInterval),
		Timeout:     config.Duration(DefaultTimeout),
		MaxBody:     DefaultMaxBody,
		MinWriteGap: config.Duration(DefaultWriteGap),
	}
}

// WriteGap is the minimum time between two writes to one datapoint.
func (c *Config) WriteGap() time.Duration { return c.MinWriteGap.D() }

// Validate reports every problem of the config with key paths relative to
// the device. The profile's points are checked in New.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if err := checkURL(c.URL); err != nil {
		add("url", "%v", err)
	}
	if c.Profile == "" && len(c.Datapoints) == 0 {
		add("datapoints", "no datapoints: set profile or datapoints")
	}
	if c.Format != "" && !config.OneOf(c.Format, docpath.JSON, docpath.XML, docpath.KeyValue) {
		add("format", "%q: want json, xml or keyvalue", c.Format)
	}
	if c.Profile == "" && c.Format == "" {
		add("format", "missing: json, xml or keyvalue")
	}
	if c.Auth != nil && (c.Auth.Token != "") == (c.Auth.Username != "") {
		add("auth", "set username (and password) for basic auth or token for bearer auth, not both")
	}
	if _, err := parseTemplate(c.Body); err != nil {
		add("body", "%v", err)
	}
	for i, u := range c.Units {
		if !model.ValidID(slug(u)) {
			add(fmt.Sprintf("units[%d]", i), "%q: want letters, digits, - or _", u)
		}
	}
	for _, d := range []struct {
		key string
		v   config.Duration
	}{{"interval", c.Interval}, {"timeout", c.Timeout}} {
		if d.v <= 0 {
			add(d.key, "%s: must be positive", d.v.D())
		}
	}
	if c.Pause != nil && *c.Pause < 0 {
		add("pause", "%s: must not be negative", c.Pause.D())
	}
	if c.MinWriteGap < 0 {
		add("write_gap", "%s: must not be negative", c.MinWriteGap.D())
	}
	if c.MaxBody <= 0 {
		add("max_body", "%d: must be positive", c.MaxBody)
	}
	format := c.Format
	if format == "" {
		format = docpath.JSON // checked again with the profile's format in New
	}
	_, perrs := compilePoints(c.Datapoints, nil, format, "datapoints")
	return append(errs, perrs...)
}

func checkURL(s string) error {
	if s == "" {
		return fmt.Errorf("missing (like http://192.168.1.20)")
	}
	u, err := url.Parse(strings.ReplaceAll(s, "{{.Unit}}", "u"))
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want http:// or https://", s)
	case u.Host == "":
		return fmt.Errorf("%q: no host", s)
	}
	return nil
}

// parseTemplate parses a request template; missing fields are errors.
func parseTemplate(s string) (*template.Template, error) {
	t, err := template.New("").Option("missingkey=error").Parse(s)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return t, nil
}

// slug makes a unit id usable in datapoint names.
func slug(s string) string {
	return strings.ToLower(strings.NewReplacer(".", "_", " ", "_", ":", "_").Replace(s))
}
