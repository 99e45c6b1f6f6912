package uplink

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
)

// Config is one item of the `uplink:` list: a remote broker and what goes to it.
type Config struct {
	Broker    string          `yaml:"broker"` // mqtt://, mqtts:// (3.1.1), mqtt5://, mqtts5:// (5)
	ClientID  string          `yaml:"client_id"`
	Username  string          `yaml:"username"`
	Password  string          `yaml:"password"`
	CAFile    string          `yaml:"ca_file"`
	CertFile  string          `yaml:"cert_file"`
	KeyFile   string          `yaml:"key_file"`
	KeepAlive config.Duration `yaml:"keep_alive"`
	TopicRoot string          `yaml:"topic_root"` // default: the site id

	Dir       string          `yaml:"dir"`       // queue directory; default <store.path>/uplink-<name> (./data/uplink-<name>)
	MaxQueue  string          `yaml:"max_queue"` // bound of the disk queue: 1GB, 500MB, 64kB
	Overflow  string          `yaml:"overflow"`  // drop-oldest or degrade
	BatchSize int             `yaml:"batch_size"`
	BatchAge  config.Duration `yaml:"batch_age"`
	Window    int             `yaml:"window"` // messages in flight
	Gzip      bool            `yaml:"gzip"`

	Send      string          `yaml:"send"` // raw, aggregated or both
	Include   []string        `yaml:"include"`
	Exclude   []string        `yaml:"exclude"`
	Aggregate config.Duration `yaml:"aggregate"` // rollup window

	Commands     []string `yaml:"commands"`      // allowed down-link commands
	RemoteConfig bool     `yaml:"remote_config"` // accept <root>/cmd/config
	// Downlink is how the back end talks to the gateway: gridbox
	// (<root>/cmd/<name>, JSON results) or datalogger (<root>/d/config and
	// <root>/d/command, text answers on <root>/u/…).
	Downlink string `yaml:"downlink"`
}

// Defaults.
const (
	DefaultMaxQueue  = "1GB"
	DefaultBatchSize = 1000
	DefaultBatchAge  = time.Second
	DefaultWindow    = 16
	DefaultAggregate = 5 * time.Minute
	DefaultKeepAlive = 30 * time.Second
	DefaultDirRoot   = "./data"
)

// AllCommands returns the down-link commands there are (besides config).
func AllCommands() []string { return []string{"reload", "read-now", "restart-device", "ping"} }

func newConfig() *Config {
	return &Config{
		MaxQueue: DefaultMaxQueue, Overflow: "drop-oldest", BatchSize: DefaultBatchSize,
		BatchAge: config.Duration(DefaultBatchAge), Window: DefaultWindow, Send: "raw",
		Aggregate: config.Duration(DefaultAggregate), KeepAlive: config.Duration(DefaultKeepAlive),
		Commands: AllCommands(), Downlink: DownlinkGridbox,
	}
}

// Validate implements sink.Config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(p, format string, args ...any) { errs = append(errs, config.Errf(p, format, args...)) }
	t, err := parseBroker(c.Broker)
	if err != nil {
		add("broker", "%v", err)
	}
	if (c.CAFile != "" || c.CertFile != "") && err == nil && !t.tls {
		add("ca_file", "TLS files are set but broker %q does not use TLS (want mqtts:// or mqtts5://)", t.redacted)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		add("cert_file", "cert_file and key_file go together")
	}
	if c.TopicRoot != "" && (strings.ContainsAny(c.TopicRoot, "+#") || strings.HasPrefix(c.TopicRoot, "/") || strings.HasSuffix(c.TopicRoot, "/")) {
		add("topic_root", "%q: want a topic root without wildcards (+, #) or leading/trailing /", c.TopicRoot)
	}
	if _, err := ParseSize(c.MaxQueue); err != nil {
		add("max_queue", "%v", err)
	}
	if !config.OneOf(c.Overflow, "drop-oldest", "degrade") {
		add("overflow", "%q: want drop-oldest or degrade", c.Overflow)
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		add("batch_size", "%d: want 1..100000", c.BatchSize)
	}
	if c.BatchAge.D() <= 0 {
		add("batch_age", "%s: must be positive", c.BatchAge.D())
	}
	if c.Window < 1 || c.Window > 1000 {
		add("window", "%d: want 1..1000", c.Window)
	}
	if c.KeepAlive.D() < time.Second || c.KeepAlive.D() > 18*time.Hour {
		add("keep_alive", "%s: want 1s..18h", c.KeepAlive.D())
	}
	if !config.OneOf(c.Send, "raw", "aggregated", "both") {
		add("send", "%q: want raw, aggregated or both", c.Send)
	}
	if w := c.Aggregate.D(); w < time.Second || time.Hour%w != 0 && w%time.Hour != 0 {
		add("aggregate", "%s: want a window of at least 1s that divides an hour (or whole hours)", w)
	}
	for key, pats := range map[string][]string{"include": c.Include, "exclude": c.Exclude} {
		for i, p := range pats {
			if _, err := path.Match(p, "x/y"); err != nil {
				add(fmt.Sprintf("%s[%d]", key, i), "%q: %v", p, err)
			}
		}
	}
	if !config.OneOf(c.Downlink, DownlinkGridbox, DownlinkDatalogger) {
		add("downlink", "%q: want gridbox or datalogger", c.Downlink)
	}
	for i, cmd := range c.Commands {
		if !config.OneOf(cmd, AllCommands()...) {
			add(fmt.Sprintf("commands[%d]", i), "%q: want one of %s", cmd, strings.Join(AllCommands(), ", "))
		}
	}
	return errs
}

// ParseSize parses a byte size: a number with an optional unit B, kB, KB,
// MB, GB (powers of 1024 for K, M and G).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"kB", 1 << 10}, {"B", 1}} {
		if v, ok := strings.CutSuffix(t, u.suf); ok {
			t, mult = strings.TrimSpace(v), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q: want a positive size like 1GB, 500MB or 64kB", s)
	}
	if n*mult < 64<<10 {
		return 0, fmt.Errorf("%q: want at least 64kB", s)
	}
	return n * mult, nil
}

// target is a parsed broker URL.
type target struct {
	v5, tls  bool
	addr     string
	user     string
	pass     string
	redacted string
}

func parseBroker(s string) (target, error) {
	if s == "" {
		return target{}, fmt.Errorf("is empty: want a URL mqtt://, mqtts://, mqtt5:// or mqtts5://")
	}
	u, err := url.Parse(s)
	if err != nil {
		return target{}, fmt.Errorf("invalid URL")
	}
	t := target{redacted: u.Redacted()}
	port := "1883"
	switch u.Scheme {
	case "mqtt":
	case "mqtts":
		t.tls, port = true, "8883"
	case "mqtt5":
		t.v5 = true
	case "mqtts5":
		t.v5, t.tls, port = true, true, "8883"
	default:
		return target{}, fmt.Errorf("%q: scheme %q: want mqtt, mqtts, mqtt5 or mqtts5", t.redacted, u.Scheme)
	}
	if u.Hostname() == "" {
		return target{}, fmt.Errorf("%q: missing host", t.redacted)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	t.addr = u.Hostname() + ":" + port
	if strings.Contains(u.Hostname(), ":") {
		t.addr = "[" + u.Hostname() + "]:" + port
	}
	if u.User != nil {
		t.user = u.User.Username()
		t.pass, _ = u.User.Password()
	}
	return t, nil
}

// selected reports whether a datapoint goes up, by the include and exclude patterns.
func (c *Config) selected(key string) bool {
	if len(c.Include) > 0 {
		ok := false
		for _, p := range c.Include {
			if m, _ := path.Match(p, key); m {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, p := range c.Exclude {
		if m, _ := path.Match(p, key); m {
			return false
		}
	}
	return true
}
