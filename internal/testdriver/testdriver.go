// Package testdriver is a driver for tests of what the gateway does with
// any driver: devices and datapoints that appear and disappear while it
// runs (through driver.Env.Catalog), values for datapoints nobody
// registered, and a config that asks for writes from a driver that cannot
// write. Its devices are steered by the test through a Control.
package testdriver

import (
	"context"
	"errors"
	"fmt"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
)

// Config is a `driver: test` device.
type Config struct {
	config.DeviceCommon `yaml:",inline"`
	Datapoints          []Point `yaml:"datapoints"`
}

// Point is one configured datapoint.
type Point struct {
	Name string     `yaml:"name"`
	Kind model.Kind `yaml:"kind"`
}

// Validate implements driver.Config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	for i, p := range c.Datapoints {
		if p.Name == "" {
			errs = append(errs, config.Errf(fmt.Sprintf("datapoints[%d].name", i), "missing"))
		}
	}
	return errs
}

// Control steers the running devices from a test: every function sent is
// run inside the device's Run with its sink and the gateway's catalog.
type Control chan func(out driver.Sink, cat driver.Catalog)

// Factory returns the `test` driver (read-only: its devices have no Writer).
func Factory(ctl Control) driver.Factory {
	return driver.Factory{
		Name:      "test",
		NewConfig: func() driver.Config { return &Config{} },
		New: func(c driver.Config, env driver.Env) (driver.Device, error) {
			cfg, ok := c.(*Config)
			if !ok {
				return nil, fmt.Errorf("test: config is %T", c)
			}
			pts := make([]model.Datapoint, len(cfg.Datapoints))
			for i, p := range cfg.Datapoints {
				kind := p.Kind
				if kind == "" {
					kind = model.Sensor
				}
				pts[i] = model.Datapoint{Name: p.Name, Meta: model.Meta{Kind: kind, Format: model.GenericNumeric}}
			}
			return &device{pts: pts, ctl: ctl, cat: env.Catalog}, nil
		},
	}
}

type device struct {
	pts []model.Datapoint
	ctl Control
	cat driver.Catalog
}

func (d *device) Datapoints() []model.Datapoint { return d.pts }

func (d *device) Run(ctx context.Context, out driver.Sink) error {
	if d.cat == nil {
		return errors.New("test driver: no catalog in its environment")
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case f := <-d.ctl:
			f(out, d.cat)
		}
	}
}
