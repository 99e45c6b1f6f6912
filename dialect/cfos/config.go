package cfos

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Config is the `dialects: cfos:` section.
type Config struct {
	// Root is the topic root, like the charging manager's cfos_mqtt (or
	// cfos_mqtt_<serial> when several share a broker).
	Root string `yaml:"root"`
	// Wallboxes maps the charging manager's wallbox ids (E1) to gridbox
	// charger devices (wb1); a charger not listed is known by its device id.
	Wallboxes map[string]string `yaml:"wallboxes"`
	// Meters maps meter ids of set/<id> (M3) to the gridbox devices made for
	// them (grid); when empty, any id is accepted as its lower-case form.
	Meters map[string]string `yaml:"meters"`
	// Vars maps set_cm_vars names to writable datapoints "<device>/<name>".
	Vars map[string]string `yaml:"vars"`
	// Interval is how often get/... are published when they changed.
	Interval config.Duration `yaml:"interval"`
	// MeterTimeout marks a meter's values stale when no set/<id> came for
	// this long (load management then falls to the safe current).
	MeterTimeout config.Duration `yaml:"meter_timeout"`
	// MaxMeters bounds the devices set/<id> may create.
	MaxMeters int `yaml:"max_meters"`
}

// Defaults.
const (
	DefaultRoot         = "cfos_mqtt"
	DefaultInterval     = time.Second
	DefaultMeterTimeout = 30 * time.Second
	DefaultMaxMeters    = 16
)

// withDefaults fills the unset fields.
func (c Config) withDefaults() Config {
	if c.Root == "" {
		c.Root = DefaultRoot
	}
	if c.Interval == 0 {
		c.Interval = config.Duration(DefaultInterval)
	}
	if c.MeterTimeout == 0 {
		c.MeterTimeout = config.Duration(DefaultMeterTimeout)
	}
	if c.MaxMeters == 0 {
		c.MaxMeters = DefaultMaxMeters
	}
	return c
}

// Validate reports problems with paths relative to the section.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(p, f string, a ...any) { errs = append(errs, config.Errf(p, f, a...)) }
	if c.Root != "" && (strings.ContainsAny(c.Root, "+#") || strings.HasPrefix(c.Root, "/") || strings.HasSuffix(c.Root, "/") || strings.Contains(c.Root, "//")) {
		add("root", "%q: want a topic root without +, # or empty levels, like cfos_mqtt", model.Short(c.Root))
	}
	devs := map[string]string{}
	for _, id := range sorted(c.Wallboxes) {
		dev := c.Wallboxes[id]
		if !validCfosID(id) {
			add("wallboxes."+id, "%q: want a wallbox id without /, + or #, like E1", model.Short(id))
		}
		if !model.ValidID(dev) {
			add("wallboxes."+id, "%q: want a gridbox device id", model.Short(dev))
		}
		if o, dup := devs[dev]; dup {
			add("wallboxes."+id, "device %s is also wallbox %s", dev, o)
		}
		devs[dev] = id
	}
	for _, id := range sorted(c.Meters) {
		if !validCfosID(id) || !model.ValidID(c.Meters[id]) {
			add("meters."+id, "%q: %q: want a meter id (M3) and a gridbox device id", model.Short(id), model.Short(c.Meters[id]))
		}
	}
	for _, name := range sorted(c.Vars) {
		d, n, ok := strings.Cut(c.Vars[name], "/")
		if !ok || !model.ValidID(d) || !model.ValidID(n) {
			add("vars."+name, "%q: want <device>/<datapoint>", model.Short(c.Vars[name]))
		}
	}
	if c.Interval < 0 || (c.Interval > 0 && c.Interval.D() < 10*time.Millisecond) {
		add("interval", "%v: want at least 10ms", c.Interval.D())
	}
	if c.MeterTimeout < 0 {
		add("meter_timeout", "%v: must not be negative", c.MeterTimeout.D())
	}
	if c.MaxMeters < 0 {
		add("max_meters", "%d: must not be negative", c.MaxMeters)
	}
	return errs
}

func validCfosID(id string) bool {
	return id != "" && len(id) <= 64 && !strings.ContainsAny(id, "/+# ")
}

func sorted(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ids translates between the charging manager's ids and gridbox devices.
type ids struct {
	wbToDev, devToWb map[string]string
	meters           map[string]string
}

func newIDs(c Config) ids {
	x := ids{wbToDev: map[string]string{}, devToWb: map[string]string{}, meters: c.Meters}
	for id, dev := range c.Wallboxes {
		x.wbToDev[id], x.devToWb[dev] = dev, id
	}
	return x
}

// charger is the gridbox device of wallbox id: the mapped one, else the id itself.
func (x ids) charger(id string) (string, error) {
	if dev, ok := x.wbToDev[id]; ok {
		return dev, nil
	}
	if model.ValidID(id) {
		return id, nil
	}
	return "", fmt.Errorf("wallbox %q is not mapped (dialects.cfos.wallboxes) and is not a device id", model.Short(id))
}

// wallbox is the charging manager's id of a charger device.
func (x ids) wallbox(dev string) string {
	if id, ok := x.devToWb[dev]; ok {
		return id
	}
	return dev
}

// meter is the gridbox device of meter id.
func (x ids) meter(id string) (string, error) {
	if len(x.meters) > 0 {
		dev, ok := x.meters[id]
		if !ok {
			return "", fmt.Errorf("meter %q is not listed in dialects.cfos.meters", model.Short(id))
		}
		return dev, nil
	}
	dev := strings.ToLower(id)
	if !model.ValidID(dev) {
		return "", fmt.Errorf("meter id %q: want letters, digits, _ or - (it becomes device %q)", model.Short(id), model.Short(dev))
	}
	return dev, nil
}

// meterID is the charging manager's id of a meter device.
func (x ids) meterID(dev, fallback string) string {
	for id, d := range x.meters {
		if d == dev {
			return id
		}
	}
	return fallback
}
