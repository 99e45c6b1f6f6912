package store

import (
	"context"
	"fmt"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/sink"
	"github.com/gridbox/gridbox/store/postgres"
	"github.com/gridbox/gridbox/store/samples"
)

// Config is the `store:` section: the embedded SQLite history, or the
// PostgreSQL one when URL is set (path and url are mutually exclusive).
type Config struct {
	Path          string          `yaml:"path"` // empty: DefaultPath, unless URL is set
	URL           string          `yaml:"url"`  // postgres://…: the PostgreSQL store (package store/postgres)
	BatchSize     int             `yaml:"batch_size"`
	FlushInterval config.Duration `yaml:"flush_interval"`
	Retention     RetentionConfig `yaml:"retention"`
}

// DefaultPath is where the embedded store lives when `store.path` is not set.
const DefaultPath = "./data"

// Dir is the embedded store's directory: path, or DefaultPath when neither
// path nor url is set ("" for a PostgreSQL store).
func (c *Config) Dir() string {
	if c.Path == "" && c.URL == "" {
		return DefaultPath
	}
	return c.Path
}

// maxFlushInterval bounds what a kill -9 can lose: values wait at most this
// long before they are committed.
const maxFlushInterval = time.Second

// Kind is the `store` sink kind: the embedded SQLite history. It keeps the
// history that the API answers from and the last values restored at start.
func Kind() sink.Kind {
	return sink.Kind{
		Name: "store", Default: true, ValuesOnly: true, // samples.Run reads values only
		NewConfig: func() sink.Config {
			return &Config{BatchSize: DefaultBatchSize, FlushInterval: config.Duration(DefaultFlushInterval), Retention: DefaultRetention()}
		},
		New: func(ctx context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
			cfg, ok := c.(*Config)
			if !ok {
				return nil, fmt.Errorf("store: config is %T, want *store.Config", c)
			}
			if cfg.URL != "" {
				return openPostgres(ctx, cfg, env)
			}
			ret, _ := cfg.Retention.Parse() // checked by Validate
			s, err := Open(ctx, Options{Path: cfg.Dir(), BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval.D(), Log: env.Log, Metrics: env.Metrics, Retention: ret, Units: unitsOf(env)})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", cfg.Dir(), err)
			}
			env.Log.Info("store opened", "path", cfg.Dir())
			return s, nil
		},
	}
}

// openPostgres opens the PostgreSQL store that `store.url` selects.
func openPostgres(ctx context.Context, cfg *Config, env sink.Env) (sink.Sink, error) {
	ret, _ := cfg.Retention.Parse() // checked by Validate
	s, err := postgres.Open(ctx, postgres.Options{URL: cfg.URL, Retention: ret, BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval.D(), Log: env.Log, Metrics: env.Metrics, Units: unitsOf(env)})
	if err != nil {
		return nil, err
	}
	env.Log.Info("store opened", "url", postgres.Redacted(cfg.URL), "timescaledb", s.Timescale())
	return s, nil
}

// Validate implements sink.Config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	if c.URL != "" {
		if c.Path != "" {
			errs = append(errs, config.Errf("url", "path and url are mutually exclusive: path is the embedded SQLite store, url a PostgreSQL server"))
		}
		if err := postgres.CheckURL(c.URL); err != nil {
			errs = append(errs, config.Errf("url", "%s: %v", postgres.Redacted(c.URL), err))
		}
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		errs = append(errs, config.Errf("batch_size", "%d: want 1..100000", c.BatchSize))
	}
	if d := c.FlushInterval.D(); d <= 0 {
		errs = append(errs, config.Errf("flush_interval", "%s: must be positive", d))
	} else if d > maxFlushInterval {
		errs = append(errs, config.Errf("flush_interval", "%s: want at most %s (what a crash can lose)", d, maxFlushInterval))
	}
	_, rerrs := c.Retention.Parse()
	return append(errs, rerrs...)
}

// unitsOf looks units up in the bus catalog (nil without a bus).
func unitsOf(env sink.Env) samples.UnitOf {
	if env.Bus == nil {
		return nil
	}
	return func(device, name string) (string, bool) {
		dp, _, _, ok := env.Bus.Datapoint(device, name)
		return dp.Unit, ok
	}
}
