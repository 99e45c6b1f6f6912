package influx

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
)

// Output is one item of the `outputs:` list. It has one field per output
// type and exactly one must be set; a later output type is one more field.
type Output struct {
	Influx *Config `yaml:"influx"`
}

// Validate implements sink.Config: exactly one output type, and its own checks.
func (o *Output) Validate() []config.FieldError {
	if o.Influx == nil {
		return []config.FieldError{config.Errf("", "an output needs exactly one output type (valid: influx)")}
	}
	var errs []config.FieldError
	for _, e := range o.Influx.Validate() {
		e.Path = joinPath("influx", e.Path)
		errs = append(errs, e)
	}
	return errs
}

// Config is `influx:` of an output: an InfluxDB 1.x database or a 2.x
// bucket. Optional keys are pointers so an explicit value is told apart from
// an absent one (the defaults are filled in by settings, once).
type Config struct {
	URL         string           `yaml:"url"`         // http:// or https://, without /write
	Database    string           `yaml:"database"`    // 1.x
	Username    string           `yaml:"username"`    // 1.x, optional (basic auth)
	Password    string           `yaml:"password"`    // 1.x, optional
	Org         string           `yaml:"org"`         // 2.x
	Bucket      string           `yaml:"bucket"`      // 2.x
	Token       string           `yaml:"token"`       // 2.x: Authorization: Token …
	Precision   string           `yaml:"precision"`   // ns, us, ms (default), s
	Measurement string           `yaml:"measurement"` // "" (default): the datapoint name
	BatchSize   *int             `yaml:"batch_size"`
	FlushEvery  *config.Duration `yaml:"flush_interval"`
	Gzip        *bool            `yaml:"gzip"`
	Timeout     *config.Duration `yaml:"timeout"`
	Backoff     *config.Duration `yaml:"backoff"`
	MaxBackoff  *config.Duration `yaml:"max_backoff"`
	BufferDir   string           `yaml:"buffer_dir"`
	MaxBuffer   *int64           `yaml:"max_buffer"`
}

// Defaults.
const (
	DefaultPrecision  = "ms"
	DefaultBatchSize  = 5000
	DefaultFlush      = time.Second
	DefaultTimeout    = 10 * time.Second
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
	DefaultMaxBuffer  = 100 << 20
	// DefaultDataDir is the parent of the default buffer_dir (the store's
	// default directory; a sink is not told where the store lives).
	DefaultDataDir = "./data"
)

var precisions = map[string]int64{"ns": 1_000_000, "us": 1_000, "ms": 1, "s": 0}

// Validate reports every problem with key paths relative to `influx`.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	bad := func(key, format string, args ...any) { errs = append(errs, config.Errf(key, format, args...)) }
	if c.URL == "" {
		bad("url", "required (like http://127.0.0.1:8086)")
	} else if u, err := url.Parse(c.URL); err != nil {
		bad("url", "%q: %v", c.URL, err)
	} else if u.Scheme != "http" && u.Scheme != "https" {
		bad("url", "%q: scheme %q: want http or https", c.URL, u.Scheme)
	} else if u.Host == "" {
		bad("url", "%q: no host", c.URL)
	} else if u.RawQuery != "" {
		bad("url", "%q: no query allowed (database, org and bucket are keys of their own)", c.URL)
	}
	v2 := c.Org != "" || c.Bucket != "" || c.Token != ""
	switch {
	case c.Database != "" && v2:
		bad("database", "set database (InfluxDB 1.x) or org and bucket (2.x), not both")
	case c.Database == "" && !v2:
		bad("database", "required: database (InfluxDB 1.x) or org and bucket (2.x)")
	case v2 && c.Org == "":
		bad("org", "required with bucket (InfluxDB 2.x)")
	case v2 && c.Bucket == "":
		bad("bucket", "required with org (InfluxDB 2.x)")
	}
	if v2 && (c.Username != "" || c.Password != "") {
		bad("username", "username/password are for InfluxDB 1.x; 2.x uses token")
	}
	if c.Precision != "" {
		if _, ok := precisions[c.Precision]; !ok {
			bad("precision", "%q: want one of ns, us, ms, s", c.Precision)
		}
	}
	if c.Measurement != "" && strings.ContainsAny(c.Measurement, "\n\r") {
		bad("measurement", "must not contain a line break")
	}
	if c.BatchSize != nil && (*c.BatchSize < 1 || *c.BatchSize > 100_000) {
		bad("batch_size", "%d: want 1..100000", *c.BatchSize)
	}
	positive := func(key string, d *config.Duration) {
		if d != nil && d.D() <= 0 {
			bad(key, "%s: must be positive", d.D())
		}
	}
	positive("flush_interval", c.FlushEvery)
	positive("timeout", c.Timeout)
	positive("backoff", c.Backoff)
	positive("max_backoff", c.MaxBackoff)
	if c.Backoff != nil && c.MaxBackoff != nil && c.MaxBackoff.D() > 0 && c.MaxBackoff.D() < c.Backoff.D() {
		bad("max_backoff", "%s: below backoff %s", c.MaxBackoff.D(), c.Backoff.D())
	}
	if c.MaxBuffer != nil && *c.MaxBuffer < 1 {
		bad("max_buffer", "%d: want a positive number of bytes", *c.MaxBuffer)
	}
	return errs
}

// settings is a validated config with every default filled in.
type settings struct {
	url, database, username, password, org, bucket, token string
	precision, measurement                                string
	batchSize                                             int
	flush, timeout, backoff, maxBackoff                   time.Duration
	gzip                                                  bool
	bufferDir                                             string
	maxBuffer                                             int64
}

// settings fills in the defaults; name is the instance name (for buffer_dir).
func (c *Config) settings(name string) settings {
	s := settings{
		url: strings.TrimRight(c.URL, "/"), database: c.Database, username: c.Username, password: c.Password,
		org: c.Org, bucket: c.Bucket, token: c.Token, precision: c.Precision, measurement: c.Measurement,
		batchSize: DefaultBatchSize, flush: DefaultFlush, timeout: DefaultTimeout, backoff: DefaultBackoff,
		maxBackoff: DefaultMaxBackoff, gzip: true, bufferDir: c.BufferDir, maxBuffer: DefaultMaxBuffer,
	}
	if s.precision == "" {
		s.precision = DefaultPrecision
	}
	if s.bufferDir == "" {
		s.bufferDir = filepath.Join(DefaultDataDir, "influx-"+name)
	}
	setIf(&s.batchSize, c.BatchSize)
	setIf(&s.gzip, c.Gzip)
	setIf(&s.maxBuffer, c.MaxBuffer)
	for _, d := range []struct {
		dst *time.Duration
		src *config.Duration
	}{{&s.flush, c.FlushEvery}, {&s.timeout, c.Timeout}, {&s.backoff, c.Backoff}, {&s.maxBackoff, c.MaxBackoff}} {
		if d.src != nil {
			*d.dst = d.src.D()
		}
	}
	if s.maxBackoff < s.backoff {
		s.maxBackoff = s.backoff
	}
	return s
}

func (s settings) v2() bool { return s.org != "" }

func (s settings) target() string {
	if s.v2() {
		return fmt.Sprintf("%s org=%s bucket=%s", s.url, s.org, s.bucket)
	}
	return fmt.Sprintf("%s db=%s", s.url, s.database)
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func joinPath(a, b string) string {
	if b == "" {
		return a
	}
	return a + "." + b
}
