package victron

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Config is one GX device (`driver: victron`).
type Config struct {
	config.DeviceCommon `yaml:",inline"`

	Broker   string `yaml:"broker"` // mqtt://[user:pass@]host[:port] or mqtts://
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	CAFile   string `yaml:"ca_file"`
	ClientID string `yaml:"client_id"` // default gridbox-<id>
	// PortalID is the GX's VRM portal id; empty: learnt from the retained
	// N/<id>/system/0/Serial.
	PortalID string `yaml:"portal_id"`
	// KeepAlive is how often R/<portal>/keepalive is sent (the GX stops
	// after 60 s without one); default 30s.
	KeepAlive config.Duration `yaml:"keepalive"`
	// Paths limits what is read to these filters below N/<portal>/ (like
	// battery/+/Soc, system/0/#); default everything.
	Paths []string `yaml:"paths"`
	// Actuators are the writable paths, with their limits.
	Actuators []Actuator `yaml:"actuators"`
	// MaxPoints bounds the datapoints created at run time.
	MaxPoints int `yaml:"max_points"`
}

// Actuator is one writable path: W/<portal>/<path> with {"value": x}.
type Actuator struct {
	Path       string `yaml:"path"` // service/instance/path, like hub4/0/AcPowerSetpoint
	Name       string `yaml:"name"` // datapoint name on the GX device; default the path, slugged
	model.Meta `yaml:",inline"`
}

// Defaults.
const (
	DefaultKeepAlive = 30 * time.Second
	DefaultMaxPoints = 2000
	gxExpiry         = 60 * time.Second // the GX's liveness after a keep-alive
)

// NewConfig returns a Config with the defaults filled in.
func NewConfig() *Config {
	return &Config{KeepAlive: config.Duration(DefaultKeepAlive), MaxPoints: DefaultMaxPoints}
}

var portalRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate reports every problem of the config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(p, format string, args ...any) { errs = append(errs, config.Errf(p, format, args...)) }
	if _, err := parseBroker(c.Broker); err != nil {
		add("broker", "%v", err)
	}
	if c.CAFile != "" {
		if _, err := tlsConfig(c.CAFile); err != nil {
			add("ca_file", "%v", err)
		}
	}
	if c.PortalID != "" && !portalRE.MatchString(c.PortalID) {
		add("portal_id", "%q: want letters, digits, _ or - (like e0ff50a097c0)", c.PortalID)
	}
	if k := c.KeepAlive.D(); k < time.Second || k >= gxExpiry {
		add("keepalive", "%s: want 1s..59s (the GX stops publishing 60 s after the last keep-alive)", k)
	}
	for i, p := range c.Paths {
		if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "#") && !strings.HasSuffix(p, "#") {
			add(fmt.Sprintf("paths[%d]", i), "%q: want a topic filter below N/<portal>/, like battery/+/Soc or system/0/#", p)
		}
	}
	names := map[string]bool{"heartbeat": true}
	for i, a := range c.Actuators {
		errs = append(errs, a.validate(fmt.Sprintf("actuators[%d]", i), names)...)
	}
	if c.MaxPoints < 0 {
		add("max_points", "%d: must not be negative", c.MaxPoints)
	}
	return errs
}

func (a Actuator) validate(at string, names map[string]bool) []config.FieldError {
	var errs []config.FieldError
	add := func(p, format string, args ...any) { errs = append(errs, config.Errf(at+"."+p, format, args...)) }
	if _, err := parsePath(a.Path); err != nil {
		add("path", "%v", err)
		return errs
	}
	dp := a.datapoint("")
	if names[dp.Name] {
		add("name", "%q: used twice (heartbeat is the GX's own)", dp.Name)
	}
	names[dp.Name] = true
	if a.Kind != "" && a.Kind != model.Actuator {
		add("kind", "%q: an actuator's kind is actuator", a.Kind)
	}
	if err := dp.CheckMeta(); err != nil {
		add("name", "%v", err)
	}
	switch {
	case dp.Format == model.ContinuousNumeric && (a.Min == nil || a.Max == nil):
		add("min", "missing: a writable numeric path needs min and max (the limits writes are held to)")
	case (dp.Format == model.DiscreteNumeric || dp.Format == model.DiscreteText) && len(a.Allowed) == 0:
		add("allowed", "missing: a writable discrete path needs allowed values")
	case dp.Format == model.GenericNumeric || dp.Format == model.GenericText:
		add("format", "%q: want continuous_numeric (with min and max), discrete_numeric, discrete_text (with allowed) or bool", dp.Format)
	}
	return errs
}

// datapoint is the actuator's datapoint on device dev.
func (a Actuator) datapoint(dev string) model.Datapoint {
	dp := model.Datapoint{Device: dev, Name: a.Name, Meta: a.Meta}
	if dp.Name == "" {
		dp.Name = slug(a.Path)
	}
	dp.Kind = model.Actuator
	if dp.Format == "" {
		dp.Format = model.ContinuousNumeric
	}
	return dp
}

// vpath is a parsed "service/instance/path".
type vpath struct {
	service  string
	instance int
	rest     string
}

var serviceRE = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

func parsePath(s string) (vpath, error) {
	parts := strings.SplitN(s, "/", 3)
	if len(parts) != 3 || parts[2] == "" || strings.ContainsAny(s, "+#") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return vpath{}, fmt.Errorf("%q: want <service>/<instance>/<path>, like hub4/0/AcPowerSetpoint", s)
	}
	if !serviceRE.MatchString(parts[0]) {
		return vpath{}, fmt.Errorf("%q: service %q: want lower-case letters and digits (grid, battery, hub4, …)", s, parts[0])
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 0 {
		return vpath{}, fmt.Errorf("%q: instance %q: want a non-negative integer", s, parts[1])
	}
	return vpath{service: parts[0], instance: n, rest: parts[2]}, nil
}

// target is a parsed broker URL.
type target struct {
	url      string // tcp://host:port or ssl://host:port for paho
	user     string
	pass     string
	tls      bool
	redacted string
}

func parseBroker(s string) (target, error) {
	if s == "" {
		return target{}, errors.New("missing: the GX's MQTT broker, like mqtt://192.168.1.10:1883")
	}
	u, err := url.Parse(s)
	if err != nil {
		return target{}, errors.New("not a URL (like mqtt://192.168.1.10:1883)")
	}
	t := target{redacted: u.Redacted()}
	scheme, port := "tcp", "1883"
	switch u.Scheme {
	case "mqtt":
	case "mqtts":
		scheme, port, t.tls = "ssl", "8883", true
	default:
		return target{}, fmt.Errorf("%q: scheme %q: want mqtt or mqtts", t.redacted, u.Scheme)
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return target{}, fmt.Errorf("%q: want scheme://[user:pass@]host[:port]", t.redacted)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	t.url = scheme + "://" + net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		t.user = u.User.Username()
		t.pass, _ = u.User.Password()
	}
	return t, nil
}

// tlsConfig trusts the CAs in caFile, or the system roots without one.
func tlsConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := config.ReadFile(caFile) // regular files only: a device path would stall gridbox check
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificates", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
