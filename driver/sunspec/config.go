package sunspec

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
)

// Config is the configuration of one SunSpec device (`driver: sunspec`).
// NewConfig fills in the defaults before the YAML is decoded over it.
type Config struct {
	config.DeviceCommon `yaml:",inline"`

	URL         string          `yaml:"url" doc:"tcp://host:port or rtuovertcp://host:port" required:"true"`
	Unit        *int            `yaml:"unit" doc:"one unit id (default 1)"`
	Units       []int           `yaml:"units" doc:"several unit ids behind the URL, read in this order"`
	Base        *int            `yaml:"base" doc:"the address of the \"SunS\" marker; nil: discover"`
	Interval    config.Duration `yaml:"interval" doc:"poll interval"`
	Timeout     config.Duration `yaml:"timeout" doc:"per request"`
	Retries     int             `yaml:"retries" doc:"retries of a read that failed with an I/O error or timeout"`
	Backoff     config.Duration `yaml:"backoff" doc:"first retry delay, doubling, capped at interval"`
	MinWriteGap config.Duration `yaml:"write_gap" doc:"minimum time between two writes to one datapoint"`
}

// Defaults of the optional keys.
const (
	DefaultInterval = 5 * time.Second
	DefaultTimeout  = time.Second
	DefaultRetries  = 2
	DefaultBackoff  = 500 * time.Millisecond
	DefaultWriteGap = time.Second
)

// NewConfig returns a Config with every default filled in.
func NewConfig() *Config {
	return &Config{
		Interval:    config.Duration(DefaultInterval),
		Timeout:     config.Duration(DefaultTimeout),
		Retries:     DefaultRetries,
		Backoff:     config.Duration(DefaultBackoff),
		MinWriteGap: config.Duration(DefaultWriteGap),
	}
}

// WriteGap is the minimum time between two writes to one datapoint.
func (c *Config) WriteGap() time.Duration { return c.MinWriteGap.D() }

// Validate reports every problem of the config with key paths relative to
// the device.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if c.URL == "" {
		add("url", "missing (like tcp://192.168.1.10:502)")
	} else if _, err := parseURL(c.URL); err != nil {
		add("url", "%v", err)
	}
	if c.Unit != nil && len(c.Units) > 0 {
		add("units", "set unit or units, not both")
	}
	if c.Unit != nil && (*c.Unit < 0 || *c.Unit > 255) {
		add("unit", "%d is out of 0..255", *c.Unit)
	}
	seen := map[int]bool{}
	for i, u := range c.Units {
		switch {
		case u < 0 || u > 255:
			add(fmt.Sprintf("units[%d]", i), "%d is out of 0..255", u)
		case seen[u]:
			add(fmt.Sprintf("units[%d]", i), "unit %d is listed twice", u)
		}
		seen[u] = true
	}
	if c.Base != nil && (*c.Base < 0 || *c.Base > 65533) {
		add("base", "%d is out of 0..65533", *c.Base)
	}
	if c.Interval <= 0 {
		add("interval", "%s: must be positive", c.Interval.D())
	}
	if c.Timeout <= 0 {
		add("timeout", "%s: must be positive", c.Timeout.D())
	}
	if c.Retries < 0 || c.Retries > 10 {
		add("retries", "%d is out of 0..10", c.Retries)
	}
	if c.Backoff < 0 {
		add("backoff", "%s: must not be negative", c.Backoff.D())
	}
	if c.MinWriteGap < 0 {
		add("write_gap", "%s: must not be negative", c.MinWriteGap.D())
	}
	return errs
}

// unitIDs returns the configured unit ids (default 1).
func (c *Config) unitIDs() []uint8 {
	switch {
	case len(c.Units) > 0:
		out := make([]uint8, len(c.Units))
		for i, u := range c.Units {
			out[i] = uint8(u)
		}
		return out
	case c.Unit != nil:
		return []uint8{uint8(*c.Unit)}
	}
	return []uint8{1}
}

// target is a parsed device URL.
type target struct {
	url  string // as the Modbus library wants it: scheme://host:port
	unit int    // from ?unit=N (one-shot reads only); -1 when absent
}

// parseURL parses tcp://host[:port][?unit=N] and rtuovertcp://host[:port].
func parseURL(s string) (target, error) {
	t := target{unit: -1}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return t, fmt.Errorf("%q has no scheme (want tcp://host:port)", s)
	}
	if scheme != "tcp" && scheme != "rtuovertcp" {
		return t, fmt.Errorf("%q: unsupported scheme %q (want tcp or rtuovertcp)", s, scheme)
	}
	hostport, query, _ := strings.Cut(rest, "?")
	if hostport == "" || strings.Contains(hostport, "/") {
		return t, fmt.Errorf("%q: want %s://host:port", s, scheme)
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(hostport, "502")
	}
	host, port, _ := net.SplitHostPort(hostport)
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
		return t, fmt.Errorf("%q: want host:port with a port of 1..65535", s)
	}
	if query != "" {
		k, v, _ := strings.Cut(query, "=")
		n, err := strconv.Atoi(v)
		if k != "unit" || strings.Contains(v, "&") || err != nil || n < 0 || n > 255 {
			return t, fmt.Errorf("%q: the only query parameter is unit=0..255", s)
		}
		t.unit = n
	}
	t.url = scheme + "://" + hostport
	return t, nil
}
