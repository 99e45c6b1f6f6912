// Package testsink is a sink kind for tests, and the example of how small a
// sink kind is: one folder and one registration (gateway.Options.Sinks, or
// a line in gateway/registry.go). It records what the bus delivers.
package testsink

import (
	"context"
	"fmt"
	"sync"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// Config is the `record:` section.
type Config struct {
	Device string `yaml:"device"` // record only this device's values ("" = all)
}

// Validate implements sink.Config.
func (c *Config) Validate() []config.FieldError {
	if c.Device != "" && !model.ValidID(c.Device) {
		return []config.FieldError{config.Errf("device", "%q is not a device id", c.Device)}
	}
	return nil
}

// Recorder keeps what every instance of the kind received.
type Recorder struct {
	mu     sync.Mutex
	values map[string][]model.Value // by instance name
	events []bus.Event
}

// Kind returns the `record` sink kind writing into r.
func Kind(r *Recorder) sink.Kind {
	return sink.Kind{
		Name: "record", List: true,
		NewConfig: func() sink.Config { return &Config{} },
		New: func(_ context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
			cfg, ok := c.(*Config)
			if !ok {
				return nil, fmt.Errorf("record: config is %T", c)
			}
			return &recording{r: r, name: env.Name, device: cfg.Device}, nil
		},
	}
}

type recording struct {
	r      *Recorder
	name   string
	device string
}

func (s *recording) Run(ctx context.Context, sub *bus.Subscription) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case v := <-sub.Values:
			if s.device == "" || v.Device == s.device {
				s.r.add(s.name, v)
			}
		case e := <-sub.Events:
			s.r.mu.Lock()
			s.r.events = append(s.r.events, e)
			s.r.mu.Unlock()
		case <-sub.States:
		}
	}
}

func (s *recording) Close() error { return nil }

func (r *Recorder) add(name string, v model.Value) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.values == nil {
		r.values = map[string][]model.Value{}
	}
	r.values[name] = append(r.values[name], v)
}

// Values returns what the instance called name received.
func (r *Recorder) Values(name string) []model.Value {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]model.Value(nil), r.values[name]...)
}

// Events returns the catalog changes received by any instance.
func (r *Recorder) Events() []bus.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bus.Event(nil), r.events...)
}
