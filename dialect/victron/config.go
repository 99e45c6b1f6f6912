package victron

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
)

// Config is the `dialects: victron:` section.
type Config struct {
	PortalID string `yaml:"portal_id"` // the id in every topic, like a GX's VRM portal id
	// Mapping places datapoints ("device/name") at Victron paths
	// ("service/instance/path"), replacing the default for their role; "-"
	// leaves one out.
	Mapping       map[string]string `yaml:"mapping"`
	Retained      bool              `yaml:"retained"`        // the legacy mode: N retained, cleared on expiry
	ReadOnlyUsers []string          `yaml:"read_only_users"` // usernames that may read but not W (embedded broker)
	KeepAlive     config.Duration   `yaml:"keepalive"`       // liveness after a keep-alive; default 60s
}

// DefaultKeepAlive is how long a keep-alive keeps values flowing.
const DefaultKeepAlive = 60 * time.Second

var (
	portalRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	keyRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$`)
)

// Validate reports problems with paths relative to the section.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	if !portalRE.MatchString(c.PortalID) {
		errs = append(errs, config.Errf("portal_id", "%q: want letters, digits, _ or - (like e0ff50a097c0)", c.PortalID))
	}
	for k, v := range c.Mapping {
		if !keyRE.MatchString(k) {
			errs = append(errs, config.Errf("mapping."+k, "%q: want <device>/<datapoint>", k))
			continue
		}
		if v == "-" {
			continue
		}
		if _, err := parsePath(v); err != nil {
			errs = append(errs, config.Errf("mapping."+k, "%v", err))
		}
	}
	for i, u := range c.ReadOnlyUsers {
		if u == "" || strings.ContainsAny(u, "+#/") {
			errs = append(errs, config.Errf(fmt.Sprintf("read_only_users[%d]", i), "%q: want a user name without +, # or /", u))
		}
	}
	if c.KeepAlive < 0 {
		errs = append(errs, config.Errf("keepalive", "%s: must not be negative", time.Duration(c.KeepAlive)))
	}
	return errs
}

// path is a parsed "service/instance/path".
type path struct {
	service  string
	instance int
	rest     string // like Ac/Power
}

func (p path) String() string { return p.service + "/" + strconv.Itoa(p.instance) + "/" + p.rest }

var serviceRE = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

func parsePath(s string) (path, error) {
	parts := strings.SplitN(s, "/", 3)
	if len(parts) != 3 || parts[2] == "" || strings.ContainsAny(s, "+#") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return path{}, fmt.Errorf("%q: want <service>/<instance>/<path>, like grid/30/Ac/Power", s)
	}
	if !serviceRE.MatchString(parts[0]) {
		return path{}, fmt.Errorf("%q: service %q: want lower-case letters and digits (grid, pvinverter, battery, …)", s, parts[0])
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 0 {
		return path{}, fmt.Errorf("%q: instance %q: want a non-negative integer", s, parts[1])
	}
	return path{service: parts[0], instance: n, rest: parts[2]}, nil
}
