package control

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// Config is the `control:` section: the list of controlled actuators.
type Config struct {
	Items []Pair `yaml:"items"`
}

// StateFile is the file in the gateway's data directory that keeps every
// setpoint and schedule across restarts.
const StateFile = "control.json"

// Validate checks every pair: both keys "<device>/<name>", different, and
// each actuator controlled once.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	seen := map[string]int{}
	for i, p := range c.Items {
		for _, k := range []struct{ key, val string }{{"actuator", p.Actuator}, {"sensor", p.Sensor}} {
			d, n := split(k.val)
			if !model.ValidID(d) || !model.ValidID(n) {
				errs = append(errs, config.Errf(fmt.Sprintf("items[%d].%s", i, k.key), "%q: want <device>/<name>", model.Short(k.val)))
			}
		}
		if p.Actuator == p.Sensor && p.Actuator != "" {
			errs = append(errs, config.Errf(fmt.Sprintf("items[%d].sensor", i), "is the actuator itself: pair it with the sensor that judges flexibility"))
		}
		if j, dup := seen[p.Actuator]; dup {
			errs = append(errs, config.Errf(fmt.Sprintf("items[%d].actuator", i), "%s is controlled twice (also items[%d])", model.Short(p.Actuator), j))
		}
		seen[p.Actuator] = i
	}
	return errs
}

// Kind is the `control` sink kind: setpoints and schedules of the listed
// actuators, set over MQTT and REST.
func Kind() sink.Kind {
	return sink.Kind{
		Name:      "control",
		Sequence:  true,
		NewConfig: func() sink.Config { return &Config{} },
		New: func(_ context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
			cfg, ok := c.(*Config)
			if !ok {
				return nil, fmt.Errorf("control: config is %T, want *control.Config", c)
			}
			ctl, err := New(env.Bus, cfg.Items, filepath.Join(env.DataDir, StateFile), env.Log)
			if err != nil {
				return nil, err
			}
			for _, p := range cfg.Items {
				for _, key := range []string{p.Actuator, p.Sensor} {
					if _, _, _, known := env.Bus.Datapoint(split(key)); !known {
						env.Log.Warn("controlled datapoint not in the catalog (yet)", "datapoint", key)
					}
				}
			}
			return ctl, nil
		},
	}
}
