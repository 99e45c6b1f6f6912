package keba

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
)

// Config is the configuration of one KEBA P30 station (`driver: keba`).
type Config struct {
	config.DeviceCommon `yaml:",inline"`

	URL      string          `yaml:"url" doc:"udp://host:7090" required:"true"`
	Listen   string          `yaml:"listen" doc:"local UDP address the answers come to; default :7090"`
	Interval config.Duration `yaml:"interval" doc:"poll interval"`
	Timeout  config.Duration `yaml:"timeout" doc:"per request"`
	Gap      config.Duration `yaml:"gap" doc:"pause between two requests to the station, ≥ 100ms"`
}

// Defaults of the optional keys.
const (
	DefaultListen   = ":7090"
	DefaultInterval = 5 * time.Second
	DefaultTimeout  = 2 * time.Second
	DefaultGap      = 100 * time.Millisecond
	// OfflineAfter is the number of consecutive timeouts that mark a station offline.
	OfflineAfter = 5
)

// NewConfig returns a Config with every default filled in.
func NewConfig() *Config {
	return &Config{
		Listen:   DefaultListen,
		Interval: config.Duration(DefaultInterval),
		Timeout:  config.Duration(DefaultTimeout),
		Gap:      config.Duration(DefaultGap),
	}
}

// Validate reports every problem of the config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if _, err := parseURL(c.URL); err != nil {
		add("url", "%v", err)
	} else if strings.Contains(c.URL, "?") {
		add("url", "no query here: set the local address with the listen key")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", "%v (like :7090)", err)
	}
	if c.Interval <= 0 {
		add("interval", "%s: must be positive", c.Interval.D())
	}
	if c.Timeout <= 0 {
		add("timeout", "%s: must be positive", c.Timeout.D())
	}
	if c.Gap.D() < DefaultGap {
		add("gap", "%s: the station needs at least %s between requests", c.Gap.D(), DefaultGap)
	}
	return errs
}

// parseURL checks udp://host[:port] and returns host:port (port 7090 by default).
func parseURL(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("missing (like udp://192.168.1.20:7090)")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if u.Scheme != "udp" || u.Hostname() == "" || u.Path != "" {
		return "", fmt.Errorf("%q: want udp://host:7090", s)
	}
	port := u.Port()
	if port == "" {
		port = "7090"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}
