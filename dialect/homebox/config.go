package homebox

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// Config is the `dialects: homebox:` section.
type Config struct {
	// Mapping is the home box's glue mapping file (ingredients and
	// recipes); its recipes become datapoints and data/devices outputs.
	Mapping string `yaml:"mapping"`
	// Streams publish gridbox datapoints ("<device>/<name>") as
	// data/devices/<entity>/<channel>, besides the role defaults.
	Streams map[string]Stream `yaml:"streams"`
	// Roles publishes datapoints with a known role without a stream entry
	// (grid_power, pv_power); default true.
	Roles *bool `yaml:"roles"`
	// DeviceID is the cloud records' deviceId; default the site id.
	DeviceID string `yaml:"device_id"`
	// Interval is the aggregation window; default 5m.
	Interval config.Duration `yaml:"interval"`
	// UploadURL, when set, gets each window's cloud records as a JSON list (POST).
	UploadURL string `yaml:"upload_url"`
}

// Stream places one datapoint on a data/devices topic with its metadata.
type Stream struct {
	Entity       string `yaml:"entity"`
	Channel      string `yaml:"channel"`
	Metric       string `yaml:"metric"`
	MetricKind   string `yaml:"metric_kind"` // default the datapoint's
	FriendlyName string `yaml:"friendly_name"`
}

// DefaultInterval is the home box's aggregation window.
const DefaultInterval = 5 * time.Minute

var (
	keyRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$`)
	partRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// Validate reports problems with paths relative to the section.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(p, format string, args ...any) { errs = append(errs, config.Errf(p, format, args...)) }
	if c.Mapping != "" {
		if _, err := LoadMapping(c.Mapping); err != nil {
			add("mapping", "%v", err)
		}
	}
	for k, s := range c.Streams {
		at := "streams." + k
		if !keyRE.MatchString(k) {
			add(at, "%q: want <device>/<datapoint>", k)
		}
		if !partRE.MatchString(s.Entity) || !partRE.MatchString(s.Channel) {
			add(at, "entity %q, channel %q: want letters, digits, _ or - (a topic level each)", s.Entity, s.Channel)
		}
		if s.Metric == "" {
			add(at+".metric", "missing: like GridElectricityImport")
		}
		if s.MetricKind != "" && !slices.Contains(model.MetricKinds(), s.MetricKind) {
			add(at+".metric_kind", "%q: want one of %v", s.MetricKind, model.MetricKinds())
		}
	}
	if w := c.Interval.D(); w != 0 && (w < time.Second || time.Hour%w != 0) {
		add("interval", "%s: want a window of at least 1s that divides an hour", w)
	}
	if c.UploadURL != "" {
		if u, err := url.Parse(c.UploadURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("upload_url", "%q: want an http:// or https:// URL", c.UploadURL)
		}
	}
	return errs
}

func (c Config) withDefaults(site string) Config {
	if c.Interval == 0 {
		c.Interval = config.Duration(DefaultInterval)
	}
	if c.DeviceID == "" {
		c.DeviceID = site
	}
	if c.Roles == nil {
		t := true
		c.Roles = &t
	}
	return c
}

// roleStreams are the streams of datapoints by role, with the home box's
// metric names.
var roleStreams = map[string]Stream{
	"grid_power": {Entity: "utility_meter", Channel: "active_power", Metric: "GridElectricityPower", MetricKind: model.MetricGauge},
	"pv_power":   {Entity: "pv_inverter", Channel: "active_power", Metric: "PvElectricityPower", MetricKind: model.MetricGauge},
}

func (s Stream) topic() string { return fmt.Sprintf("data/devices/%s/%s", s.Entity, s.Channel) }
