package proxy

import (
	"net"
	"strconv"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Config is one proxy of the `modbus_proxy:` list.
type Config struct {
	Listen              string          `yaml:"listen"`                // host:port of the Modbus TCP server
	Device              string          `yaml:"device"`                // id of a Modbus device of the gateway
	Unit                *int            `yaml:"unit"`                  // the proxy's unit id; nil: any
	MaxAge              config.Duration `yaml:"max_age"`               // answer reads from the poller's last read when younger; 0: always forward
	ReadOnly            bool            `yaml:"read_only"`             // refuse every write (exception 01)
	AllowUnmappedWrites bool            `yaml:"allow_unmapped_writes"` // pass writes to registers no datapoint maps as they are
	MaxClients          int             `yaml:"max_clients"`           // concurrent client connections
	Timeout             config.Duration `yaml:"timeout"`               // how long one request may wait for its turn and its answer
	IdleTimeout         config.Duration `yaml:"idle_timeout"`          // a client connection idle this long is closed
}

// Defaults of the optional keys.
const (
	DefaultMaxClients  = 8
	DefaultTimeout     = 5 * time.Second
	DefaultIdleTimeout = 2 * time.Minute
)

// NewConfig returns a Config with the defaults.
func NewConfig() *Config {
	return &Config{MaxClients: DefaultMaxClients, Timeout: config.Duration(DefaultTimeout), IdleTimeout: config.Duration(DefaultIdleTimeout)}
}

// Validate reports every problem, with key paths relative to the item.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if c.Listen == "" {
		add("listen", "missing (like 127.0.0.1:5020)")
	} else if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", "%q: want host:port", c.Listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		add("listen", "port %q is not 0..65535", port)
	}
	switch {
	case c.Device == "":
		add("device", "missing: the id of a Modbus device")
	case !model.ValidID(c.Device):
		add("device", "%q is not a device id", model.Short(c.Device))
	}
	if c.Unit != nil && (*c.Unit < 0 || *c.Unit > 255) {
		add("unit", "%d is out of 0..255", *c.Unit)
	}
	if c.MaxAge < 0 {
		add("max_age", "%s: must not be negative", c.MaxAge.D())
	}
	if c.MaxClients < 1 || c.MaxClients > 1000 {
		add("max_clients", "%d is out of 1..1000", c.MaxClients)
	}
	if c.Timeout <= 0 {
		add("timeout", "%s: must be positive", c.Timeout.D())
	}
	if c.IdleTimeout <= 0 {
		add("idle_timeout", "%s: must be positive", c.IdleTimeout.D())
	}
	if c.ReadOnly && c.AllowUnmappedWrites {
		add("allow_unmapped_writes", "has no effect with read_only: true")
	}
	return errs
}
