// Package dialect is the `dialects:` section: other ecosystems' MQTT
// conventions spoken on the gateway's broker next to the native topics —
// Home Assistant's discovery (dialect/homeassistant), Victron's N/R/W
// topics (dialect/victron), the cFos Charging Manager's MQTT API
// (dialect/cfos), BEMCom's connectors, API and controller
// (dialect/bemcom, which also adds REST routes under /bemcom/), the edge
// datalogger's payloads (dialect/datalogger) and the home box's
// (dialect/homebox). Each dialect has a connection of its own to
// the MQTT sink's broker (sink.MQTT) and its own bus subscription.
package dialect

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/dialect/bemcom"
	"github.com/gridbox/gridbox/dialect/cfos"
	"github.com/gridbox/gridbox/dialect/datalogger"
	"github.com/gridbox/gridbox/dialect/homeassistant"
	"github.com/gridbox/gridbox/dialect/homebox"
	"github.com/gridbox/gridbox/dialect/victron"
	"github.com/gridbox/gridbox/sink"
	"github.com/gridbox/gridbox/uplink"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is the `dialects:` section; a dialect is on when its key is given
// (`homeassistant: {}` for the defaults).
type Config struct {
	HomeAssistant *homeassistant.Config `yaml:"homeassistant"`
	Victron       *victron.Config       `yaml:"victron"`
	Cfos          *cfos.Config          `yaml:"cfos"`
	BEMCom        *bemcom.Config        `yaml:"bemcom"`
	Datalogger    *datalogger.Config    `yaml:"datalogger"`
	HomeBox       *homebox.Config       `yaml:"homebox"`
}

// Validate implements sink.Config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	if c.HomeAssistant != nil {
		errs = append(errs, prefixed("homeassistant", c.HomeAssistant.Validate())...)
	}
	if c.Victron != nil {
		errs = append(errs, prefixed("victron", c.Victron.Validate())...)
	}
	if c.Cfos != nil {
		errs = append(errs, prefixed("cfos", c.Cfos.Validate())...)
	}
	if c.BEMCom != nil {
		errs = append(errs, prefixed("bemcom", c.BEMCom.Validate())...)
	}
	if c.Datalogger != nil {
		errs = append(errs, prefixed("datalogger", c.Datalogger.Validate())...)
	}
	if c.HomeBox != nil {
		errs = append(errs, prefixed("homebox", c.HomeBox.Validate())...)
	}
	return errs
}

func prefixed(p string, errs []config.FieldError) []config.FieldError {
	for i := range errs {
		errs[i].Path = p + "." + errs[i].Path
	}
	return errs
}

// Kind is the `dialects` sink kind. It comes after the mqtt kind in
// gateway/registry.go (it needs the MQTT sink's broker) and before the api
// kind (BEMCom contributes routes).
func Kind() sink.Kind {
	return sink.Kind{Name: "dialects", OwnSubscriptions: true,
		NewConfig: func() sink.Config { return &Config{} }, New: newSink}
}

// runner is one dialect.
type runner interface {
	Run(ctx context.Context, sub *bus.Subscription) error
}

type instance struct {
	bus     *bus.Bus
	name    string
	runners map[string]runner
	routes  []sink.Route
}

// subQueue is each dialect's bus queue.
const subQueue = 1 << 14

func newSink(ctx context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("dialects: config is %T, want *dialect.Config", c)
	}
	if env.MQTT == nil && (cfg.HomeAssistant != nil || cfg.Victron != nil || cfg.Cfos != nil || cfg.BEMCom != nil ||
		cfg.Datalogger != nil || cfg.HomeBox != nil) {
		return nil, errors.New("dialects: no mqtt sink to publish through (the dialects speak on the mqtt sink's broker)")
	}
	msgs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridbox_dialect_messages_total",
		Help: "Messages of the MQTT dialects by dialect and what: published, failed, refused (bad requests), malformed (bad input), duplicate, birth, keepalive, read, write, api, api_unknown, ctl, meter_input.",
	}, []string{"dialect", "what"})
	if env.Metrics != nil {
		if err := env.Metrics.Register(msgs); err != nil {
			return nil, fmt.Errorf("dialects metrics: %w", err)
		}
	}
	counter := func(d string) func(string) { return func(w string) { msgs.WithLabelValues(d, w).Inc() } }
	in := &instance{bus: env.Bus, name: env.Name, runners: map[string]runner{}}
	if cfg.HomeAssistant != nil {
		in.runners["homeassistant"] = homeassistant.New(env.Bus, env.MQTT, *cfg.HomeAssistant, env.Site,
			env.Log.With("dialect", "homeassistant"), counter("homeassistant"))
	}
	if cfg.Victron != nil {
		v, err := victron.New(env.Bus, env.MQTT, *cfg.Victron, env.Log.With("dialect", "victron"), counter("victron"))
		if err != nil {
			return nil, fmt.Errorf("dialects: victron: %w", err)
		}
		in.runners["victron"] = v
	}
	if cfg.Cfos != nil {
		c, err := cfos.New(env.Bus, env.MQTT, *cfg.Cfos, env.Log.With("dialect", "cfos"), counter("cfos"))
		if err != nil {
			return nil, fmt.Errorf("dialects: cfos: %w", err)
		}
		in.runners["cfos"] = c
	}
	if cfg.BEMCom != nil {
		b, err := newBEMCom(*cfg.BEMCom, env, counter("bemcom"))
		if err != nil {
			return nil, fmt.Errorf("dialects: bemcom: %w", err)
		}
		in.runners["bemcom"] = b
		in.routes = b.Routes()
	}
	if cfg.Datalogger != nil {
		d, err := datalogger.New(env.Bus, env.MQTT, *cfg.Datalogger, uplink.ControllerFrom(ctx), env.Version,
			env.Log.With("dialect", "datalogger"), counter("datalogger"))
		if err != nil {
			return nil, fmt.Errorf("dialects: datalogger: %w", err)
		}
		in.runners["datalogger"] = d
	}
	if cfg.HomeBox != nil {
		h, err := homebox.New(env.Bus, env.MQTT, *cfg.HomeBox, env.Site, env.Log.With("dialect", "homebox"), counter("homebox"))
		if err != nil {
			return nil, fmt.Errorf("dialects: homebox: %w", err)
		}
		in.runners["homebox"] = h
	}
	return in, nil
}

// Run runs every dialect with its own bus subscription until ctx is done.
func (in *instance) Run(ctx context.Context, _ *bus.Subscription) error {
	var wg sync.WaitGroup
	errs := make([]error, 0, len(in.runners))
	var mu sync.Mutex
	for name, r := range in.runners {
		sub := in.bus.Subscribe(in.name+"/"+name, bus.Options{Size: subQueue, States: true, Events: true})
		wg.Go(func() {
			defer in.bus.Unsubscribe(sub)
			if err := r.Run(ctx, sub); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (in *instance) Close() error { return nil }

// Routes are the REST routes of the dialects (BEMCom's API).
func (in *instance) Routes() []sink.Route { return in.routes }

// newBEMCom builds the BEMCom dialect with a counter of bad payloads by connector.
func newBEMCom(c bemcom.Config, env sink.Env, count func(string)) (*bemcom.Dialect, error) {
	bad := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridbox_bemcom_bad_payloads_total",
		Help: "Messages from BEMCom connectors, APIs or controllers that were refused (malformed JSON, missing keys), by connector.",
	}, []string{"connector"})
	if env.Metrics != nil {
		if err := env.Metrics.Register(bad); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	return bemcom.New(bemcom.Options{Bus: env.Bus, MQTT: env.MQTT, Config: c, Log: env.Log.With("dialect", "bemcom"), Count: count,
		Bad: badCounter(bad), History: env.History, Controls: env.Controls,
		DataDir: env.DataDir, Version: env.Version})
}

// badCounter counts bad payloads by connector name; beyond
// bemcom.MaxConnectors names (anyone may publish on the broker) they are
// counted as "other".
func badCounter(c *prometheus.CounterVec) func(string) {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(conn string) {
		mu.Lock()
		if !seen[conn] && len(seen) >= bemcom.MaxConnectors {
			conn = "other"
		} else {
			seen[conn] = true
		}
		mu.Unlock()
		c.WithLabelValues(conn).Inc()
	}
}
