package bemcom

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Config is the `dialects: bemcom:` section; `bemcom: {}` turns on every role.
type Config struct {
	// Roles are what gridbox plays: connector (one BEMCom connector per
	// gridbox device), api (imports outside connectors and serves the REST
	// API under /bemcom/) and controller (<controller>/controlled_datapoints).
	// Default: all three.
	Roles []string `yaml:"roles"`
	// Devices are the gridbox devices that act as connectors; default every
	// device (but never the ones imported from outside connectors).
	Devices []string `yaml:"devices"`
	// Connectors are the outside connectors the API role imports; default
	// every connector that publishes <name>/available_datapoints and is not
	// one of gridbox's own.
	Connectors []string `yaml:"connectors"`
	// Controller is the controller's name in <controller>/controlled_datapoints;
	// default "controller".
	Controller string `yaml:"controller"`
	// RawMessageToDB also publishes every value as C/raw_message_to_db.
	RawMessageToDB bool `yaml:"raw_message_to_db"`
	// Heartbeat is the connectors' heartbeat period; default 30s.
	Heartbeat config.Duration `yaml:"heartbeat"`
}

// The roles.
const (
	RoleConnector  = "connector"
	RoleAPI        = "api"
	RoleController = "controller"
)

// Defaults.
const (
	DefaultHeartbeat  = 30 * time.Second
	DefaultController = "controller"
)

// Validate reports problems with paths relative to the section.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	for i, r := range c.Roles {
		if r != RoleConnector && r != RoleAPI && r != RoleController {
			errs = append(errs, config.Errf(fmt.Sprintf("roles[%d]", i), "%q: want connector, api or controller", r))
		}
	}
	for i, d := range c.Devices {
		if !model.ValidID(d) {
			errs = append(errs, config.Errf(fmt.Sprintf("devices[%d]", i), "%q: want a device id", d))
		}
	}
	for i, n := range c.Connectors {
		if !validTopicLevel(n) {
			errs = append(errs, config.Errf(fmt.Sprintf("connectors[%d]", i), "%q: want a connector name (one MQTT topic level, no + or #)", n))
		}
	}
	if c.Controller != "" && !validTopicLevel(c.Controller) {
		errs = append(errs, config.Errf("controller", "%q: want a name (one MQTT topic level, no + or #)", c.Controller))
	}
	if c.Heartbeat < 0 || (c.Heartbeat > 0 && time.Duration(c.Heartbeat) < time.Second) {
		errs = append(errs, config.Errf("heartbeat", "%s: want at least 1s", time.Duration(c.Heartbeat)))
	}
	return errs
}

func validTopicLevel(s string) bool { return s != "" && !strings.ContainsAny(s, "/+#") }

// has reports whether role r is on.
func (c *Config) has(r string) bool { return len(c.Roles) == 0 || slices.Contains(c.Roles, r) }

func (c *Config) heartbeat() time.Duration {
	if c.Heartbeat == 0 {
		return DefaultHeartbeat
	}
	return time.Duration(c.Heartbeat)
}

func (c *Config) controller() string {
	if c.Controller == "" {
		return DefaultController
	}
	return c.Controller
}
