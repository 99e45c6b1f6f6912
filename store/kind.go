package store

import (
	"context"
	"fmt"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/sink"
)

// Config is the `store:` section: the embedded SQLite history.
type Config struct {
	Path          string          `yaml:"path"`
	BatchSize     int             `yaml:"batch_size"`
	FlushInterval config.Duration `yaml:"flush_interval"`
}

// DefaultPath is where the embedded store lives when `store.path` is not set.
const DefaultPath = "./data"

// maxFlushInterval bounds what a kill -9 can lose: values wait at most this
// long before they are committed.
const maxFlushInterval = time.Second

// Kind is the `store` sink kind: the embedded SQLite history. It keeps the
// history that the API answers from and the last values restored at start.
func Kind() sink.Kind {
	return sink.Kind{
		Name: "store", Default: true,
		NewConfig: func() sink.Config {
			return &Config{Path: DefaultPath, BatchSize: DefaultBatchSize, FlushInterval: config.Duration(DefaultFlushInterval)}
		},
		New: func(ctx context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
			cfg, ok := c.(*Config)
			if !ok {
				return nil, fmt.Errorf("store: config is %T, want *store.Config", c)
			}
			s, err := Open(ctx, Options{Path: cfg.Path, BatchSize: cfg.BatchSize, FlushInterval: cfg.FlushInterval.D(), Log: env.Log, Metrics: env.Metrics})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", cfg.Path, err)
			}
			env.Log.Info("store opened", "path", cfg.Path)
			return s, nil
		},
	}
}

// Validate implements sink.Config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	if c.Path == "" {
		errs = append(errs, config.Errf("path", "must not be empty"))
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		errs = append(errs, config.Errf("batch_size", "%d: want 1..100000", c.BatchSize))
	}
	if d := c.FlushInterval.D(); d <= 0 {
		errs = append(errs, config.Errf("flush_interval", "%s: must be positive", d))
	} else if d > maxFlushInterval {
		errs = append(errs, config.Errf("flush_interval", "%s: want at most %s (what a crash can lose)", d, maxFlushInterval))
	}
	return errs
}
