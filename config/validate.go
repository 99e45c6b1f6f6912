package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/gridbox/gridbox/model"
	"gopkg.in/yaml.v3"
)

// validate checks values after decoding; root locates lines.
func validate(c *Config, root *yaml.Node) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Line: Locate(root, path), Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if !model.ValidID(c.Site) {
		add("site", "%q is not a slug ([a-z0-9][a-z0-9_-]*)", c.Site)
	}
	if err := checkListen(c.HTTP.Listen); err != nil {
		add("http.listen", "%v", err)
	}
	if !oneOf(c.HTTP.Auth, "token", "read-open", "none") {
		add("http.auth", "%q: want token, read-open or none", c.HTTP.Auth)
	} else if c.HTTP.Auth != "none" && len(c.HTTP.Tokens) == 0 {
		add("http.tokens", "auth %q needs at least one token (or set http.auth: none for lab use)", c.HTTP.Auth)
	}
	if !oneOf(c.HTTP.MetricsAuth, "none", "token") {
		add("http.metrics_auth", "%q: want none or token", c.HTTP.MetricsAuth)
	}
	if err := CheckBroker(c.MQTT.Broker); err != nil {
		add("mqtt.broker", "%v", err)
	}
	if c.MQTT.Broker == "embedded" {
		if err := checkListen(c.MQTT.Listen); err != nil {
			add("mqtt.listen", "%v", err)
		}
	}
	if p := c.MQTT.Prefix; p == "" || strings.ContainsAny(p, "#+") || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		add("mqtt.prefix", "%q: want a topic root without wildcards or leading/trailing /", p)
	}
	if c.MQTT.CAFile != "" && !strings.HasPrefix(c.MQTT.Broker, "mqtts") {
		add("mqtt.ca_file", "is set but mqtt.broker %q does not use TLS (want mqtts:// or mqtts5://)", c.MQTT.Broker)
	}
	if c.MQTT.QoS < 0 || c.MQTT.QoS > 1 {
		add("mqtt.qos", "%d: want 0 or 1", c.MQTT.QoS)
	}
	for key, v := range map[string]int{"mqtt.max_packet_size": c.MQTT.MaxPacketSize, "mqtt.max_clients": c.MQTT.MaxClients, "mqtt.max_queued": c.MQTT.MaxQueued} {
		if v < 0 {
			add(key, "%d: must not be negative (0 = default)", v)
		}
	}
	if c.MQTT.Buffer < 0 {
		add("mqtt.buffer", "%d: must not be negative", c.MQTT.Buffer)
	}
	if c.Store.Path == "" {
		add("store.path", "must not be empty")
	}
	if c.Store.BatchSize < 1 || c.Store.BatchSize > 100000 {
		add("store.batch_size", "%d: want 1..100000", c.Store.BatchSize)
	}
	if d := c.Store.FlushInterval.D(); d <= 0 {
		add("store.flush_interval", "%s: must be positive", d)
	} else if d > time.Second {
		add("store.flush_interval", "%s: want at most 1s (SPEC: at most 1 s of unflushed values)", d)
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		add("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "text", "json") {
		add("log.format", "%q: want text or json", c.Log.Format)
	}
	return append(errs, checkDevices(c.Devices, root)...)
}

func checkDevices(devs []Device, root *yaml.Node) []FieldError {
	var errs []FieldError
	seen := map[string]int{}
	for i, d := range devs {
		p := fmt.Sprintf("devices[%d]", i)
		switch {
		case d.ID == "":
			errs = append(errs, FieldError{Line: Locate(root, p), Path: p + ".id", Msg: "missing"})
		case !model.ValidID(d.ID):
			errs = append(errs, FieldError{Line: Locate(root, p+".id"), Path: p + ".id", Msg: fmt.Sprintf("%q is not a slug ([a-z0-9][a-z0-9_-]*)", d.ID)})
		default:
			if j, dup := seen[d.ID]; dup {
				errs = append(errs, FieldError{Line: Locate(root, p+".id"), Path: p + ".id", Msg: fmt.Sprintf("%q is already used by devices[%d]", d.ID, j)})
			}
			seen[d.ID] = i
		}
		if d.Driver == "" {
			errs = append(errs, FieldError{Line: Locate(root, p), Path: p + ".driver", Msg: "missing"})
		}
	}
	return errs
}

// CheckBroker validates mqtt.broker: "embedded" or an MQTT URL.
func CheckBroker(s string) error {
	if s == "embedded" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", s, err)
	}
	if !oneOf(u.Scheme, "mqtt", "mqtts", "mqtt5", "mqtts5") {
		return fmt.Errorf("%q: want embedded or a URL with scheme mqtt, mqtts, mqtt5 or mqtts5", s)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

func checkListen(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", s, err)
	}
	if port == "" {
		return fmt.Errorf("%q has no port", s)
	}
	return nil
}

func oneOf(s string, opts ...string) bool {
	for _, o := range opts {
		if s == o {
			return true
		}
	}
	return false
}
