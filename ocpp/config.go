package ocpp

import (
	"fmt"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Config is the `ocpp:` section.
type Config struct {
	Listen       string          `yaml:"listen"`
	Path         string          `yaml:"path"`
	CertFile     string          `yaml:"cert_file"`
	KeyFile      string          `yaml:"key_file"`
	ChargePoints []ChargePoint   `yaml:"charge_points"`
	AllowUnknown bool            `yaml:"allow_unknown"`
	IDTags       []string        `yaml:"id_tags"`       // empty: every id tag is accepted
	DataTransfer []string        `yaml:"data_transfer"` // vendor ids answered Accepted
	Heartbeat    config.Duration `yaml:"heartbeat"`     // interval sent in BootNotification.conf
	CallTimeout  config.Duration `yaml:"call_timeout"`  // for calls gridbox sends
	Ping         config.Duration `yaml:"ping_interval"` // WebSocket pings to find dead connections; 0: none
	DataDir      string          `yaml:"data_dir"`      // transactions file; "" = the gateway's data directory (store.path)
	MaxCurrent   float64         `yaml:"max_current"`   // upper bound of the max_current actuator, A
	Voltage      float64         `yaml:"voltage"`       // V per phase, to turn A into W
	Phases       int             `yaml:"phases"`        // phases, to turn A into W
}

// ChargePoint is one known charge point: its id as it sends it and its
// HTTP Basic password (empty: no password asked, security profile 0).
type ChargePoint struct {
	ID       string `yaml:"id"`
	Password string `yaml:"password"`
}

// Defaults.
const (
	DefaultListen      = ":8887"
	DefaultPath        = "/ocpp"
	DefaultHeartbeat   = 5 * time.Minute
	DefaultCallTimeout = 30 * time.Second
	DefaultPing        = time.Minute
	DefaultMaxCurrent  = 32
	DefaultVoltage     = 230
	DefaultPhases      = 3
)

func newConfig() *Config {
	return &Config{Listen: DefaultListen, Path: DefaultPath, Heartbeat: config.Duration(DefaultHeartbeat),
		CallTimeout: config.Duration(DefaultCallTimeout), Ping: config.Duration(DefaultPing),
		MaxCurrent: DefaultMaxCurrent, Voltage: DefaultVoltage, Phases: DefaultPhases}
}

// Validate implements sink.Config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if err := config.CheckListen(c.Listen); err != nil {
		add("listen", "%v", err)
	}
	if !strings.HasPrefix(c.Path, "/") || strings.HasSuffix(c.Path, "/") && c.Path != "/" {
		add("path", "%q: want an absolute path without a trailing slash, like /ocpp", c.Path)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		add("cert_file", "cert_file and key_file go together: set both for TLS or neither")
	}
	errs = append(errs, checkChargePoints(c.ChargePoints)...)
	for i, t := range c.IDTags {
		if t == "" || len(t) > 20 {
			add(fmt.Sprintf("id_tags[%d]", i), "%q: an id tag has 1 to 20 characters", t)
		}
	}
	if c.Heartbeat.D() < time.Second {
		add("heartbeat", "%v: want at least 1s", c.Heartbeat.D())
	}
	if c.CallTimeout.D() <= 0 {
		add("call_timeout", "%v: want more than 0", c.CallTimeout.D())
	}
	if c.Ping.D() < 0 {
		add("ping_interval", "%v: want 0 (no pings) or more", c.Ping.D())
	}
	if c.MaxCurrent <= 0 {
		add("max_current", "%v: want more than 0 A", c.MaxCurrent)
	}
	if c.Voltage <= 0 {
		add("voltage", "%v: want more than 0 V", c.Voltage)
	}
	if c.Phases != 1 && c.Phases != 3 {
		add("phases", "%d: want 1 or 3", c.Phases)
	}
	return errs
}

func checkChargePoints(cps []ChargePoint) []config.FieldError {
	var errs []config.FieldError
	ids, slugs := map[string]bool{}, map[string]string{}
	for i, cp := range cps {
		p := fmt.Sprintf("charge_points[%d].id", i)
		switch {
		case cp.ID == "":
			errs = append(errs, config.Errf(p, "is empty"))
		case strings.ContainsAny(cp.ID, "/?#%") || len(cp.ID) > 48:
			errs = append(errs, config.Errf(p, "%q: want at most 48 characters without / ? # %%", cp.ID))
		case !model.ValidID(Slug(cp.ID)):
			errs = append(errs, config.Errf(p, "%q: its device id %q must start with a letter or digit", cp.ID, Slug(cp.ID)))
		case ids[cp.ID]:
			errs = append(errs, config.Errf(p, "%q is listed twice", cp.ID))
		case slugs[Slug(cp.ID)] != "":
			errs = append(errs, config.Errf(p, "%q and %q have the same device id %q", slugs[Slug(cp.ID)], cp.ID, Slug(cp.ID)))
		}
		ids[cp.ID], slugs[Slug(cp.ID)] = true, cp.ID
	}
	return errs
}

// Slug is the device id of a charge point: its id in lower case with every
// character outside [a-z0-9_-] replaced by '-' (CP-001 → cp-001). An id
// whose slug does not start with a letter or digit is refused.
func Slug(id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}
