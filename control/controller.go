package control

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gridbox/gridbox/model"
)

// Pair is one controlled actuator and the sensor that judges flexibility,
// both as "<device>/<name>".
type Pair struct {
	Actuator string `yaml:"actuator"`
	Sensor   string `yaml:"sensor"`
}

// Bus is what the controller needs of the bus: the catalog with last
// values, and the write path (limits, rate limit, audit).
type Bus interface {
	Datapoint(device, name string) (model.Datapoint, model.Value, bool, bool)
	Write(ctx context.Context, device, name string, v any) (any, error)
}

// retryAfter is when a decision whose write failed or was refused is tried again.
const retryAfter = 2 * time.Second

// ErrNotControlled is the answer for an actuator no `control:` pair names.
var ErrNotControlled = model.ErrNotControlled

// Controller holds the setpoints and schedules of its pairs and writes the
// decided values. Set* may be called from any goroutine; Run does the writes.
type Controller struct {
	bus   Bus
	log   *slog.Logger
	file  stateFile
	now   func() int64
	mu    sync.Mutex
	pairs map[string]*pair // by actuator key
	kick  chan struct{}
}

// pair is one controlled actuator's state.
type pair struct {
	Pair
	st       pairState
	sensor   *model.Value
	decision Decision
	written  any // the last value written for the current decision
	wrote    bool
	retryAt  int64 // ms; 0 = none
}

// New makes a controller for pairs, keeping its state in statePath ("" =
// in memory only).
func New(b Bus, pairs []Pair, statePath string, log *slog.Logger) (*Controller, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Controller{bus: b, log: log, file: stateFile{statePath}, now: model.NowMs, pairs: map[string]*pair{}, kick: make(chan struct{}, 1)}
	saved, err := c.file.load()
	if err != nil {
		return nil, err
	}
	for _, p := range pairs {
		c.pairs[p.Actuator] = &pair{Pair: p, st: saved[p.Actuator]}
	}
	return c, nil
}

func split(key string) (string, string) {
	d, n, _ := strings.Cut(key, "/")
	return d, n
}

// SetSetpoint replaces an actuator's setpoint with items (JSON list or
// null); ts is the message's timestamp (ms, 0 = now): an older or equal
// one than the current setpoint's is ignored, so a replayed retained message
// changes nothing.
func (c *Controller) SetSetpoint(device, name string, items []byte, ts int64) error {
	return c.set(device, name, ts, func(p *pair, meta model.Datapoint, ts int64) error {
		its, err := ParseSetpoint(items, meta)
		if err != nil {
			return err
		}
		if ts <= p.st.SetpointTS {
			return nil
		}
		p.st.Setpoint, p.st.SetpointTS = its, ts
		return nil
	})
}

// SetSchedule is SetSetpoint for the schedule.
func (c *Controller) SetSchedule(device, name string, items []byte, ts int64) error {
	return c.set(device, name, ts, func(p *pair, meta model.Datapoint, ts int64) error {
		its, err := ParseSchedule(items, meta)
		if err != nil {
			return err
		}
		if ts <= p.st.ScheduleTS {
			return nil
		}
		p.st.Schedule, p.st.ScheduleTS = its, ts
		return nil
	})
}

func (c *Controller) set(device, name string, ts int64, apply func(*pair, model.Datapoint, int64) error) error {
	key := model.Key(device, name)
	meta, _, _, known := c.bus.Datapoint(device, name)
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pairs[key]
	switch {
	case !ok:
		return fmt.Errorf("%s: %w", model.Short(key), ErrNotControlled)
	case !known:
		return fmt.Errorf("%s: actuator not (yet) in the catalog", model.Short(key))
	}
	if ts == 0 {
		ts = c.now()
	}
	if err := apply(p, meta, ts); err != nil {
		return err
	}
	if err := c.file.save(c.snapshot()); err != nil {
		return err
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return nil
}

// snapshot copies every pair's state for saving; c.mu is held.
func (c *Controller) snapshot() map[string]pairState {
	out := make(map[string]pairState, len(c.pairs))
	for k, p := range c.pairs {
		out[k] = p.st
	}
	return out
}

// Setpoint returns an actuator's setpoint items (nil: none).
func (c *Controller) Setpoint(device, name string) ([]SetpointItem, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pairs[model.Key(device, name)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", model.Short(model.Key(device, name)), ErrNotControlled)
	}
	return p.st.Setpoint, nil
}

// Schedule returns an actuator's schedule items (nil: none).
func (c *Controller) Schedule(device, name string) ([]ScheduleItem, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pairs[model.Key(device, name)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", model.Short(model.Key(device, name)), ErrNotControlled)
	}
	return p.st.Schedule, nil
}

// State is the readable control state of one actuator (GET …/control).
type State struct {
	Actuator string   `json:"actuator"`
	Sensor   string   `json:"sensor"`
	Decision Decision `json:"decision"`
	Written  any      `json:"written"` // the value last written for this decision; null if none
}

// State returns the current decision of an actuator and its reason.
func (c *Controller) State(device, name string) (State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pairs[model.Key(device, name)]
	if !ok {
		return State{}, fmt.Errorf("%s: %w", model.Short(model.Key(device, name)), ErrNotControlled)
	}
	s := State{Actuator: p.Actuator, Sensor: p.Sensor, Decision: p.decision}
	if p.wrote {
		s.Written = p.written
	}
	return s, nil
}
