package computed

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// Kind is the `computed` sink kind.
func Kind() sink.Kind {
	return sink.Kind{
		Name:      "computed",
		Sequence:  true,
		NewConfig: func() sink.Config { return &Config{} },
		New: func(_ context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
			cfg, ok := c.(*Config)
			if !ok {
				return nil, fmt.Errorf("computed: config is %T, want *computed.Config", c)
			}
			return New(env.Bus, cfg, env.Log)
		},
	}
}

// Computer publishes the computed datapoints of a Config.
type Computer struct {
	bus   *bus.Bus
	log   *slog.Logger
	items []item
	users map[string][]int // input key → items that read it
}

type item struct {
	device, name string
	expr         *Expression
	last         model.Value // last published
	has          bool
}

// New registers the computed devices and their datapoints on b. A device
// id that is registered already (a configured device) is an error: computed
// datapoints need a device of their own.
func New(b *bus.Bus, cfg *Config, log *slog.Logger) (*Computer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.exprs == nil {
		if errs := cfg.Validate(); len(errs) > 0 {
			return nil, fmt.Errorf("computed: %v", errs[0])
		}
	}
	c := &Computer{bus: b, log: log, users: map[string][]int{}}
	byDevice := map[string][]model.Datapoint{}
	var order []string
	for i, it := range cfg.Items {
		d, n, _ := strings.Cut(it.Name, "/")
		c.items = append(c.items, item{device: d, name: n, expr: cfg.exprs[i]})
		for _, r := range cfg.exprs[i].Refs() {
			c.users[r] = append(c.users[r], i)
		}
		if _, ok := byDevice[d]; !ok {
			order = append(order, d)
		}
		byDevice[d] = append(byDevice[d], model.Datapoint{Name: n, Meta: model.Meta{
			Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: it.Unit, Role: it.Role, Description: it.Description}})
	}
	for _, d := range order {
		if _, known := b.Device(d); known {
			return nil, fmt.Errorf("computed: device %q is a configured device; give computed datapoints a device id of their own", d)
		}
		st := model.DeviceState{Device: d, Driver: "computed", Online: true, LastSeen: model.NowMs()}
		if err := b.AddDevice(st, byDevice[d], nil, 0); err != nil {
			return nil, fmt.Errorf("computed: %w", err)
		}
	}
	return c, nil
}

// Run computes every item from the bus's last values, then again whenever
// one of its inputs changes, until ctx is done.
func (c *Computer) Run(ctx context.Context, sub *bus.Subscription) error {
	for i := range c.items {
		c.update(i)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case v := <-sub.Values:
			for _, i := range c.users[v.Key()] {
				c.update(i)
			}
		case <-sub.States:
		case <-sub.Events:
		}
	}
}

// Close implements sink.Sink.
func (c *Computer) Close() error { return nil }

// update evaluates item i and publishes its value if it changed.
func (c *Computer) update(i int) {
	it := &c.items[i]
	v, ok := c.evaluate(it)
	if !ok {
		return
	}
	if it.has && it.last.Quality == v.Quality && it.last.Time == v.Time && model.SameValue(it.last.Value, v.Value) {
		return
	}
	it.last, it.has = v, true
	c.bus.Publish(v)
	c.bus.SetState(model.DeviceState{Device: it.device, Online: true, LastSeen: model.NowMs()}, 0, 0)
}

// evaluate computes an item from the last values of its inputs; false
// until every input has a value. The time is the newest input's; the
// quality stale if an input is stale, bad (value null) if an input is bad,
// null or not a number, or the expression fails.
func (c *Computer) evaluate(it *item) (model.Value, bool) {
	out := model.Value{Device: it.device, Name: it.name, Quality: model.Good}
	vals := make(map[string]float64, len(it.expr.Refs()))
	var bad string
	for _, key := range it.expr.Refs() {
		d, n, _ := strings.Cut(key, "/")
		_, last, has, _ := c.bus.Datapoint(d, n)
		if !has {
			return out, false
		}
		out.Time = max(out.Time, last.Time)
		f, num := asNumber(last.Value)
		switch {
		case last.Quality == model.Bad || !num:
			bad = fmt.Sprintf("input %s is %v (%s)", key, last.Value, last.Quality)
		case last.Quality == model.Stale:
			out.Quality = model.Stale
		}
		vals[key] = f
	}
	if bad == "" {
		f, err := it.expr.Eval(vals)
		switch {
		case err != nil:
			bad = err.Error()
		case math.IsNaN(f) || math.IsInf(f, 0):
			bad = fmt.Sprintf("result %v is not a finite number", f)
		default:
			out.Value = f
			return out, true
		}
	}
	c.log.Debug("computed value is bad", "device", it.device, "datapoint", it.name, "reason", bad)
	out.Quality = model.Bad
	return out, true
}

// asNumber takes numbers as they are and bools as 1 and 0.
func asNumber(v any) (float64, bool) {
	if b, ok := v.(bool); ok {
		if b {
			return 1, true
		}
		return 0, true
	}
	return model.AsFloat(v)
}
