package homematic

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/gridbox/gridbox/config"
)

// Config is the configuration of one Homematic CCU interface (`driver: homematic`).
type Config struct {
	config.DeviceCommon `yaml:",inline"`

	URL         string            `yaml:"url" doc:"the CCU's XML-RPC interface, like http://ccu:2010"`
	Callback    string            `yaml:"callback" doc:"the URL the CCU calls back: http://<this-host>:<port>"`
	Listen      string            `yaml:"listen" doc:"local address of the callback server; default \":<callback port>\""`
	InterfaceID string            `yaml:"interface_id" doc:"id given to init; default \"gridbox-<id>\""`
	ReinitAfter config.Duration   `yaml:"reinit_after" doc:"re-init when no event arrived for this long"`
	Retry       config.Duration   `yaml:"retry" doc:"delay after a failed setup"`
	Timeout     config.Duration   `yaml:"timeout" doc:"per call to the CCU"`
	MaxBody     int64             `yaml:"max_body" doc:"cap of one XML-RPC body in bytes"`
	Names       map[string]string `yaml:"names" doc:"\"<ADDRESS>/<PARAM>\" → datapoint name"`
}

// Defaults of the optional keys.
const (
	DefaultReinitAfter = 10 * time.Minute
	DefaultRetry       = 10 * time.Second
	DefaultTimeout     = 10 * time.Second
	DefaultMaxBody     = 4 << 20
)

// NewConfig returns a Config with every default filled in.
func NewConfig() *Config {
	return &Config{
		ReinitAfter: config.Duration(DefaultReinitAfter),
		Retry:       config.Duration(DefaultRetry),
		Timeout:     config.Duration(DefaultTimeout),
		MaxBody:     DefaultMaxBody,
	}
}

// Validate reports every problem of the config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if err := checkHTTPURL(c.URL); err != nil {
		add("url", "%v (like http://ccu:2010)", err)
	}
	if err := checkHTTPURL(c.Callback); err != nil {
		add("callback", "%v (like http://192.168.1.5:9292, an address the CCU reaches)", err)
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			add("listen", "%v (like :9292)", err)
		}
	}
	for key, d := range map[string]config.Duration{"reinit_after": c.ReinitAfter, "retry": c.Retry, "timeout": c.Timeout} {
		if d <= 0 {
			add(key, "%s: must be positive", d.D())
		}
	}
	if c.MaxBody < 1024 || c.MaxBody > 256<<20 {
		add("max_body", "%d is out of 1024..%d", c.MaxBody, 256<<20)
	}
	for k, v := range c.Names {
		if !validName(v) {
			add("names."+k, "%q is not a slug ([a-z0-9][a-z0-9_-]*)", v)
		}
	}
	return errs
}

func checkHTTPURL(s string) error {
	if s == "" {
		return fmt.Errorf("missing")
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: want http://host:port", s)
	}
	return nil
}

// listenAddr is the callback server's address: listen, else the
// callback URL's port on every interface.
func (c *Config) listenAddr() string {
	if c.Listen != "" {
		return c.Listen
	}
	u, err := url.Parse(c.Callback)
	if err != nil {
		return ":0"
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443"}[u.Scheme]
		if port == "" {
			port = "80"
		}
	}
	return ":" + port
}

func (c *Config) interfaceID() string {
	if c.InterfaceID != "" {
		return c.InterfaceID
	}
	return "gridbox-" + c.ID
}
