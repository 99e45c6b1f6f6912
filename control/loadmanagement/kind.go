package loadmanagement

import (
	"context"
	"fmt"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
	"github.com/prometheus/client_golang/prometheus"
)

// Kind is the `loadmanagement` sink kind.
func Kind() sink.Kind {
	return sink.Kind{
		Name:      "loadmanagement",
		NewConfig: func() sink.Config { return NewConfig() },
		New: func(_ context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
			cfg, ok := c.(*Config)
			if !ok {
				return nil, fmt.Errorf("loadmanagement: config is %T, want *loadmanagement.Config", c)
			}
			ctl := New(env.Bus, cfg, env.Log)
			if err := ctl.Register(); err != nil {
				return nil, err
			}
			if env.Metrics != nil {
				if err := ctl.registerMetrics(env.Metrics); err != nil {
					return nil, fmt.Errorf("loadmanagement: metrics: %w", err)
				}
			}
			return ctl, nil
		},
	}
}

// registerMetrics exposes the counters.
func (c *Controller) registerMetrics(reg prometheus.Registerer) error {
	var err error
	counter := func(name, help string, f func() uint64) {
		sink.Register(reg, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f()) }), &err)
	}
	counter("gridbox_loadmanagement_cycles_total", "Load management cycles run.", c.stats.cycles.Load)
	counter("gridbox_loadmanagement_stale_cycles_total", "Cycles in which the site meter was stale (chargers at their safe current).", c.stats.stale.Load)
	counter("gridbox_loadmanagement_writes_total", "Charger writes applied.", c.stats.writes.Load)
	counter("gridbox_loadmanagement_write_errors_total", "Charger writes refused or failed (retried next cycle).", c.stats.writeErrors.Load)
	sink.Register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridbox_loadmanagement_safe_reaction_cycles",
		Help: "Cycles of the last stale-meter episode until every charger held its safe current (1 = the first stale cycle)."},
		func() float64 { return float64(c.SafeReactionCycles()) }), &err)
	return err
}

// Run resolves the meter and chargers, then runs a cycle every interval
// until ctx is done; catalog changes resolve again.
func (c *Controller) Run(ctx context.Context, sub *bus.Subscription) error {
	c.Resolve()
	t := time.NewTicker(c.cfg.Interval.D())
	defer t.Stop()
	var values <-chan model.Value
	var states <-chan model.DeviceState
	var events <-chan bus.Event
	if sub != nil {
		values, states, events = sub.Values, sub.States, sub.Events
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-values:
		case <-states:
		case <-events:
			c.Resolve()
		case <-t.C:
			c.Cycle(ctx, model.NowMs())
		}
	}
}

// Close implements sink.Sink.
func (c *Controller) Close() error { return nil }
