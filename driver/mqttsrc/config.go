package mqttsrc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Config is the configuration of one remote MQTT source (`driver: mqtt`).
type Config struct {
	config.DeviceCommon `yaml:",inline"`

	Broker     string  `yaml:"broker" doc:"mqtt://[user:pass@]host[:port], mqtts://, mqtt5://, mqtts5://" required:"true"`
	CAFile     string  `yaml:"ca_file" doc:"PEM CAs trusted for mqtts instead of the system roots"`
	Username   string  `yaml:"username" doc:"instead of user:pass@ in the URL"`
	Password   string  `yaml:"password"`
	ClientID   string  `yaml:"client_id" doc:"default gridbox-<id>"`
	QoS        int     `yaml:"qos" doc:"of the subscriptions and writes, 0 or 1" enum:"0|1"`
	Topic      string  `yaml:"topic" doc:"default topic of datapoints without one (profiles)"`
	Profile    string  `yaml:"profile" doc:"built-in profile name or file path with datapoints"`
	Datapoints []Point `yaml:"datapoints" doc:"added to / replacing the profile's by name"`
	MaxPayload int     `yaml:"max_payload" doc:"bytes; larger messages are counted and dropped"`
	MaxPoints  int     `yaml:"max_points" doc:"datapoints created at run time (wildcards, objects)"`
}

// Point is one configured datapoint (or, with wildcards, a family of them).
type Point struct {
	Name       string  `yaml:"name"`        // required without wildcards; with them, a prefix
	Topic      string  `yaml:"topic"`       // topic or filter with + and #
	Path       string  `yaml:"path"`        // dot path into a JSON payload: "power_w", "voltage.0"
	Scale      float64 `yaml:"scale"`       // numeric value × scale (0 means 1)
	WriteTopic string  `yaml:"write_topic"` // actuators publish writes here
	model.Meta `yaml:",inline"`
}

// Defaults of the optional keys.
const (
	DefaultMaxPayload = 64 << 10
	DefaultMaxPoints  = 1000
)

// NewConfig returns a Config with every default filled in.
func NewConfig() *Config {
	return &Config{MaxPayload: DefaultMaxPayload, MaxPoints: DefaultMaxPoints}
}

// Validate reports every problem of the config (profile points in New).
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if _, err := parseBroker(c.Broker); err != nil {
		add("broker", "%v", err)
	}
	if c.CAFile != "" {
		if _, err := tlsConfig(c.CAFile); err != nil {
			add("ca_file", "%v", err)
		}
	}
	if c.QoS < 0 || c.QoS > 1 {
		add("qos", "%d: want 0 or 1", c.QoS)
	}
	if c.MaxPayload < 16 || c.MaxPayload > 16<<20 {
		add("max_payload", "%d is out of 16..%d", c.MaxPayload, 16<<20)
	}
	if c.MaxPoints < 0 {
		add("max_points", "%d: must not be negative", c.MaxPoints)
	}
	if c.Topic != "" {
		if err := checkFilter(c.Topic); err != nil {
			add("topic", "%v", err)
		}
	}
	if c.Profile == "" && len(c.Datapoints) == 0 {
		add("datapoints", "none: set profile or datapoints")
	}
	_, perrs := compile(c.Datapoints, c.Topic, "datapoints")
	return append(errs, perrs...)
}

// target is a parsed broker URL.
type target struct {
	url        *url.URL // mqtt:// or mqtts:// for autopaho
	user, pass string
	redacted   string
}

// parseBroker checks the broker URL. Every scheme speaks MQTT 5.
func parseBroker(s string) (target, error) {
	if s == "" {
		return target{}, errors.New("missing (like mqtt://192.168.1.2:1883)")
	}
	u, err := url.Parse(s)
	if err != nil {
		return target{}, errors.New("not a URL (like mqtt://user:pass@host:1883)")
	}
	t := target{redacted: u.Redacted()}
	scheme, port := "mqtt", "1883"
	switch u.Scheme {
	case "mqtt", "mqtt5":
	case "mqtts", "mqtts5":
		scheme, port = "mqtts", "8883"
	default:
		return target{}, fmt.Errorf("%q: scheme %q: want mqtt, mqtts, mqtt5 or mqtts5", t.redacted, u.Scheme)
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return target{}, fmt.Errorf("%q: want scheme://[user:pass@]host[:port]", t.redacted)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	t.url = &url.URL{Scheme: scheme, Host: net.JoinHostPort(u.Hostname(), port)}
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
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// checkFilter checks an MQTT topic filter: + and # take whole levels, #
// only last.
func checkFilter(f string) error {
	if f == "" {
		return errors.New("empty topic")
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return fmt.Errorf("%q: # must be the last level", f)
		case l != "+" && l != "#" && strings.ContainsAny(l, "+#"):
			return fmt.Errorf("%q: + and # take a whole level", f)
		}
	}
	return nil
}
