package knx

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"github.com/vapourismo/knx-go/knx/cemi"
)

// Config is the configuration of one KNX/IP connection (`driver: knx`).
type Config struct {
	config.DeviceCommon `yaml:",inline"`

	URL         string          `yaml:"url" doc:"udp://gateway:3671" required:"true"`
	Mode        string          `yaml:"mode" doc:"tunnel (default) or routing" enum:"tunnel|routing"`
	Profile     string          `yaml:"profile" doc:"file in the building framework's KNX key form"`
	Datapoints  []Datapoint     `yaml:"datapoints" doc:"by group address and DPT"`
	ReadAtStart bool            `yaml:"read_at_start" doc:"group read to every group address after connecting"`
	Timeout     config.Duration `yaml:"timeout" doc:"connect and per-request timeout"`
	Heartbeat   config.Duration `yaml:"heartbeat" doc:"tunnel connection-state check interval"`
	Backoff     config.Duration `yaml:"backoff" doc:"first reconnect delay, doubling up to a minute"`
	MinWriteGap config.Duration `yaml:"write_gap" doc:"minimum time between two writes to one datapoint"`
}

// Datapoint is one group address read or written with a DPT.
type Datapoint struct {
	Name       string `yaml:"name"`
	GA         string `yaml:"ga"`  // group address: 1/2/3, 1/234 or 2345
	DPT        string `yaml:"dpt"` // like 9.001 or DPST-9-1
	model.Meta `yaml:",inline"`
}

// Defaults of the optional keys.
const (
	DefaultTimeout   = 5 * time.Second
	DefaultHeartbeat = 10 * time.Second
	DefaultBackoff   = time.Second
	maxBackoff       = time.Minute
	DefaultPort      = 3671
	routingGroup     = "224.0.23.12"
)

// NewConfig returns a Config with every default filled in.
func NewConfig() *Config {
	return &Config{
		Mode:        "tunnel",
		ReadAtStart: true,
		Timeout:     config.Duration(DefaultTimeout),
		Heartbeat:   config.Duration(DefaultHeartbeat),
		Backoff:     config.Duration(DefaultBackoff),
	}
}

// WriteGap is the minimum time between two writes to one datapoint.
func (c *Config) WriteGap() time.Duration { return c.MinWriteGap.D() }

// Validate reports every problem of the config, with key paths relative to
// the device. The profile is checked in New.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if c.URL == "" {
		add("url", "missing (like udp://192.168.1.20:3671)")
	} else if _, err := parseURL(c.URL, c.Mode); err != nil {
		add("url", "%v", err)
	}
	if c.Mode != "tunnel" && c.Mode != "routing" {
		add("mode", "%q: want tunnel or routing", c.Mode)
	}
	if c.Profile == "" && len(c.Datapoints) == 0 {
		add("datapoints", "no datapoints: set profile or datapoints")
	}
	for _, d := range []struct {
		key  string
		v    config.Duration
		zero bool
	}{{"timeout", c.Timeout, false}, {"heartbeat", c.Heartbeat, false}, {"backoff", c.Backoff, false}, {"write_gap", c.MinWriteGap, true}} {
		if d.v < 0 || (d.v == 0 && !d.zero) {
			add(d.key, "%s: must be positive", d.v.D())
		}
	}
	_, perrs := compile(c.Datapoints, "datapoints")
	return append(errs, perrs...)
}

// parseURL checks a udp://host[:port] URL and returns host:port. In
// routing mode the host is the multicast group (224.0.23.12 by default,
// with udp://224.0.23.12:3671 or udp://:3671).
func parseURL(raw, mode string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("%q: %w", raw, err)
	case u.Scheme != "udp":
		return "", fmt.Errorf("%q: scheme %q, want udp://host:3671", raw, u.Scheme)
	case u.Path != "" || u.RawQuery != "" || u.User != nil:
		return "", fmt.Errorf("%q: want only udp://host:port", raw)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" && mode == "routing" {
		host = routingGroup
	}
	if host == "" {
		return "", fmt.Errorf("%q: no host", raw)
	}
	if port == "" {
		port = strconv.Itoa(DefaultPort)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: port %q is out of 1..65535", raw, port)
	}
	return net.JoinHostPort(host, port), nil
}

// point is a compiled Datapoint.
type point struct {
	name string
	ga   cemi.GroupAddr
	dpt  DPT
	meta model.Meta
}

// compile checks datapoints and compiles them; errors have key paths like
// "datapoints[2].dpt".
func compile(dps []Datapoint, prefix string) ([]*point, []config.FieldError) {
	var errs []config.FieldError
	out := make([]*point, 0, len(dps))
	seen := map[string]int{}
	for i, d := range dps {
		p := fmt.Sprintf("%s[%d]", prefix, i)
		add := func(key, format string, args ...any) {
			errs = append(errs, config.Errf(p+"."+key, format, args...))
		}
		pt, err := compileOne(d)
		for _, e := range err {
			add(e.Path, "%s", e.Msg)
		}
		if j, dup := seen[d.Name]; dup && d.Name != "" {
			add("name", "duplicate name %q (also %s[%d])", d.Name, prefix, j)
		}
		seen[d.Name] = i
		if pt != nil {
			out = append(out, pt)
		}
	}
	return out, errs
}

func compileOne(d Datapoint) (*point, []config.FieldError) {
	var errs []config.FieldError
	add := func(key, format string, args ...any) { errs = append(errs, config.Errf(key, format, args...)) }
	if !model.ValidID(d.Name) {
		add("name", "%q is not a valid name (a slug: [a-z0-9][a-z0-9_-]*)", d.Name)
	}
	ga, err := ParseGA(d.GA)
	if err != nil {
		add("ga", "%v", err)
	}
	dpt, err := ParseDPT(d.DPT)
	if err != nil {
		add("dpt", "%v", err)
		return nil, errs
	}
	meta := mergeMeta(dpt.Meta(), d.Meta)
	if meta.Kind == "" {
		meta.Kind = model.Sensor
	}
	dp := model.Datapoint{Name: d.Name, Meta: meta}
	if err := dp.CheckMeta(); err != nil && model.ValidID(d.Name) {
		key, _, _ := strings.Cut(err.Error(), " ") // CheckMeta's messages start with the key: kind, format, min, min/max
		add(strings.TrimSuffix(key, "/max"), "%v", err)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &point{name: d.Name, ga: ga, dpt: dpt, meta: meta}, nil
}

// mergeMeta lays the configured metadata over the DPT's.
func mergeMeta(base, over model.Meta) model.Meta {
	m := base
	m.Kind, m.Description, m.Role, m.Allowed = over.Kind, over.Description, over.Role, over.Allowed
	m.Protect, m.Watchdog = over.Protect, over.Watchdog // safe writes (docs/writes.md)
	if over.Format != "" {
		m.Format = over.Format
	}
	if over.Unit != "" {
		m.Unit = over.Unit
	}
	if over.Min != nil {
		m.Min = over.Min
	}
	if over.Max != nil {
		m.Max = over.Max
	}
	return m
}

// ParseGA reads a group address in the 3-level (main/middle/sub, 0–31 /
// 0–7 / 0–255), 2-level (main/sub, 0–31 / 0–2047) or free (0–65535) form.
func ParseGA(s string) (cemi.GroupAddr, error) {
	parts := strings.Split(s, "/")
	var max []int
	switch len(parts) {
	case 3:
		max = []int{31, 7, 255}
	case 2:
		max = []int{31, 2047}
	case 1:
		max = []int{65535}
	}
	if s == "" {
		return 0, fmt.Errorf("missing (like 1/2/3)")
	}
	if max == nil {
		return 0, fmt.Errorf("%q is not a group address (like 1/2/3)", s)
	}
	var ga int
	for i, p := range parts {
		n, err := atoi(p, max[i])
		if err != nil {
			return 0, fmt.Errorf("group address %q: %w", s, err)
		}
		ga = ga*(max[i]+1) + n
	}
	return cemi.GroupAddr(ga), nil
}

// GAString gives a group address in the 3-level form.
func GAString(ga cemi.GroupAddr) string {
	return fmt.Sprintf("%d/%d/%d", ga>>11, (ga>>8)&7, ga&0xff)
}
