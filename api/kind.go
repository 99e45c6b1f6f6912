package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/sink"
	"github.com/gridbox/gridbox/uplink"
)

// Config is the `http:` section: the REST API, live stream and web UI.
type Config struct {
	Listen      string        `yaml:"listen"`
	Auth        string        `yaml:"auth"`         // token (default), read-open, none
	Tokens      []TokenConfig `yaml:"tokens"`       // "secret" (scope admin) or {token | file, scope}
	TokenFiles  []string      `yaml:"token_files"`  // files of "<token> [scope]" lines
	MetricsAuth string        `yaml:"metrics_auth"` // none (default) or token
	CORSOrigins []string      `yaml:"cors_origins"` // browser origins allowed cross-origin; none: CORS off
	Users       []User        `yaml:"users"`        // web UI logins (users.go)
}

// tokens reads every configured token (token files too); errs holds one
// error per bad item.
func (c *Config) tokens() (toks []ScopedToken, errs []config.FieldError) {
	for i, t := range c.Tokens {
		st, err := t.resolve()
		if err != nil {
			errs = append(errs, config.Errf(fmt.Sprintf("tokens[%d]", i), "%v", err))
			continue
		}
		toks = append(toks, st)
	}
	for i, f := range c.TokenFiles {
		ts, err := readTokenFile(f)
		if err != nil {
			errs = append(errs, config.Errf(fmt.Sprintf("token_files[%d]", i), "%v", err))
			continue
		}
		toks = append(toks, ts...)
	}
	return toks, errs
}

// Kind is the `http` sink kind: the REST API with its live stream (each
// stream client has its own bus subscription), /metrics and the web UI.
func Kind() sink.Kind {
	return sink.Kind{
		Name: "http", Default: true, OwnSubscriptions: true,
		NewConfig: func() sink.Config { return &Config{Listen: ":8080", Auth: "token", MetricsAuth: "none"} },
		New:       newSink,
	}
}

// Validate implements sink.Config.
func (c *Config) Validate() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if err := config.CheckListen(c.Listen); err != nil {
		add("listen", "%v", err)
	}
	if !config.OneOf(c.Auth, "token", "read-open", "none") {
		add("auth", "%q: want token, read-open or none", c.Auth)
	} else if c.Auth != "none" && len(c.Tokens)+len(c.TokenFiles) == 0 && len(c.Users) == 0 {
		add("tokens", "auth %q needs at least one token or user (or set http.auth: none for lab use)", c.Auth)
	}
	_, terrs := c.tokens()
	errs = append(errs, terrs...)
	errs = append(errs, validateUsers(c.Users)...)
	if !config.OneOf(c.MetricsAuth, "none", "token") {
		add("metrics_auth", "%q: want none or token", c.MetricsAuth)
	}
	return errs
}

// shutdownTimeout bounds how long HTTP clients get to finish at stop.
const shutdownTimeout = time.Second

// instance is the running API: its listener and server.
type instance struct {
	ln  net.Listener
	srv *http.Server
}

func newSink(ctx context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("http: config is %T, want *api.Config", c)
	}
	toks, terrs := cfg.tokens()
	if len(terrs) > 0 {
		return nil, config.Errors(terrs)
	}
	sessions := sessionsFrom(ctx)
	if len(cfg.Users) > 0 && env.DataDir != "" {
		if err := sessions.Persist(env.DataDir); err != nil {
			env.Log.Warn("login sessions are kept in memory only: they end with the process", "err", err)
		}
	}
	s, err := New(env.Bus, Options{
		Auth: cfg.Auth, Scoped: toks, MetricsAuth: cfg.MetricsAuth, CORSOrigins: cfg.CORSOrigins, Version: env.Version,
		Log: env.Log, Metrics: env.Metrics, Gatherer: env.Gatherer, History: env.History, Audit: env.Audit,
		Controls: env.Controls, Extra: env.Routes, Users: cfg.Users, Sessions: sessions,
		Profiles: profile.Builtin(), DeviceSchemas: env.DeviceSchemas,
	})
	if err != nil {
		return nil, err
	}
	if b, ok := env.MQTT.(interface{ BrokerHealth() map[string]any }); ok {
		s.opts.Broker = b.BrokerHealth
	}
	if ed, ok := uplink.ControllerFrom(ctx).(ConfigEditor); ok {
		s.opts.Config = ed
	}
	if cfg.Auth == "none" {
		env.Log.Warn("http.auth is none: the API accepts writes from anyone who can reach it; use only on loopback or in a lab", "listen", cfg.Listen)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	return &instance{ln: ln, srv: &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes: MaxHeaderBytes, BaseContext: func(net.Listener) context.Context { return ctx }}}, nil
}

// Run serves until ctx is done, then gives clients shutdownTimeout to finish.
func (in *instance) Run(ctx context.Context, _ *bus.Subscription) error {
	done := make(chan error, 1)
	go func() { done <- in.srv.Serve(in.ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := in.srv.Shutdown(sctx); err != nil {
		in.srv.Close()
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close frees the listener (when Run never served it).
func (in *instance) Close() error {
	if err := in.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// Addr is the address the API listens on.
func (in *instance) Addr() string { return in.ln.Addr().String() }
