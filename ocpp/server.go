// Package ocpp is gridbox's OCPP 1.6J central system: a WebSocket server
// that charge points connect to, and a source of devices (a charge point and
// its connectors) that appear on the bus at run time. It is a sink kind —
// it owns the top-level `ocpp:` section, a listener and a lifetime like the
// API — rather than a driver, since its devices are not configured one by
// one but come and go as charge points connect.
package ocpp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
	"github.com/prometheus/client_golang/prometheus"
)

// Subprotocol is the only WebSocket subprotocol accepted.
const Subprotocol = "ocpp1.6"

// readLimit bounds one incoming message.
const readLimit = 1 << 20

// Bus is what the central system needs of the gateway's bus: the catalog
// for devices that come at run time, and the path for values and states.
// *bus.Bus implements it.
type Bus interface {
	driver.Catalog
	driver.Sink
}

// Server is the central system: the HTTP handler for the WebSocket
// upgrades and the state of every charge point seen.
type Server struct {
	cfg  *Config
	log  *slog.Logger
	bus  Bus
	sch  *schemas
	tx   *txStore
	m    *metrics
	pw   map[string]string // listed charge points: id → password
	tags map[string]bool   // allowed id tags; empty: all

	mu    sync.Mutex
	cps   map[string]*chargePoint // by id as sent
	conns sync.WaitGroup          // connection handlers running
}

// Options are what New needs beside the config.
type Options struct {
	Log     *slog.Logger
	Metrics prometheus.Registerer // may be nil
}

// NewServer opens the transactions file and compiles the schemas.
func NewServer(cfg *Config, b Bus, o Options) (*Server, error) {
	sch, err := loadSchemas()
	if err != nil {
		return nil, err
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(o.Metrics)
	if err != nil {
		return nil, fmt.Errorf("ocpp metrics: %w", err)
	}
	tx, err := openTxStore(cfg.DataDir, log)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, bus: b, sch: sch, tx: tx, m: m, pw: map[string]string{},
		tags: map[string]bool{}, cps: map[string]*chargePoint{}}
	for _, cp := range cfg.ChargePoints {
		s.pw[cp.ID] = cp.Password
	}
	for _, t := range cfg.IDTags {
		s.tags[t] = true
	}
	return s, nil
}

// Close releases the transactions file; call it after every connection
// handler has returned (Wait).
func (s *Server) Close() error { return s.tx.close() }

// Wait returns when every connection handler has returned.
func (s *Server) Wait() { s.conns.Wait() }

// ServeHTTP upgrades <path>/<chargePointId> to an OCPP 1.6J WebSocket after
// checking the id, the HTTP Basic password and the subprotocol; a refused
// upgrade is answered with a plain HTTP error and counted.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Counted before the upgrade hijacks the connection: until then the
	// http.Server tracks it, so Wait after Shutdown cannot miss it.
	s.conns.Add(1)
	defer s.conns.Done()
	id, status, reason := s.admit(r)
	if status != 0 {
		s.m.refused.WithLabelValues(reason).Inc()
		s.log.Warn("charge point refused", "charge_point", model.Short(id), "reason", reason, "remote", r.RemoteAddr)
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="ocpp"`)
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		s.log.Warn("websocket upgrade failed", "charge_point", id, "error", err)
		return
	}
	ws.SetReadLimit(readLimit)
	s.serveConn(r.Context(), id, ws)
}

// admit checks an upgrade request; status 0 admits the charge point id.
func (s *Server) admit(r *http.Request) (id string, status int, reason string) {
	id, ok := strings.CutPrefix(r.URL.Path, s.cfg.Path+"/")
	if !ok || id == "" || strings.Contains(id, "/") || !model.ValidID(Slug(id)) || r.Method != http.MethodGet {
		return id, http.StatusNotFound, "path"
	}
	pw, listed := s.pw[id]
	if !listed && !s.cfg.AllowUnknown {
		return id, http.StatusNotFound, "unknown"
	}
	if listed && pw != "" {
		user, pass, ok := r.BasicAuth()
		if !ok || user != id || subtle.ConstantTimeCompare([]byte(pass), []byte(pw)) != 1 {
			return id, http.StatusUnauthorized, "auth"
		}
	}
	if !offers(r, Subprotocol) {
		return id, http.StatusBadRequest, "subprotocol"
	}
	return id, 0, ""
}

// offers reports whether the request lists proto in Sec-WebSocket-Protocol.
func offers(r *http.Request, proto string) bool {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			if strings.TrimSpace(p) == proto {
				return true
			}
		}
	}
	return false
}

// sinkInstance runs the server as the `ocpp` sink.
type sinkInstance struct {
	s   *Server
	ln  net.Listener
	srv *http.Server
	tls bool
}

// Kind is the `ocpp:` config section.
func Kind() sink.Kind {
	return sink.Kind{
		Name: "ocpp", OwnSubscriptions: true,
		NewConfig: func() sink.Config { return newConfig() },
		New:       newSink,
	}
}

func newSink(ctx context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("ocpp: config is %T, want *ocpp.Config", c)
	}
	if env.Bus == nil {
		return nil, errors.New("ocpp: no bus")
	}
	if cfg.DataDir == "" {
		cfg.DataDir = env.DataDir
	}
	s, err := NewServer(cfg, env.Bus, Options{Log: env.Log, Metrics: env.Metrics})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle(cfg.Path+"/", s)
	return &sinkInstance{s: s, ln: ln, tls: cfg.CertFile != "", srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}}, nil
}

// Run serves until ctx is done; then the connections close and Run waits for them.
func (in *sinkInstance) Run(ctx context.Context, _ *bus.Subscription) error {
	done := make(chan error, 1)
	go func() {
		if in.tls {
			done <- in.srv.ServeTLS(in.ln, in.s.cfg.CertFile, in.s.cfg.KeyFile)
			return
		}
		done <- in.srv.Serve(in.ln)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if in.srv.Shutdown(sctx) != nil {
			in.srv.Close()
		}
		cancel()
		err = <-done
	}
	in.s.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close frees the listener and the transactions file.
func (in *sinkInstance) Close() error {
	err := in.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return errors.Join(err, in.s.Close())
}

// Addr is where the central system listens.
func (in *sinkInstance) Addr() string { return in.ln.Addr().String() }

// Routes contributes GET /api/v1/ocpp/transactions to the REST API.
func (in *sinkInstance) Routes() []sink.Route {
	return []sink.Route{{Pattern: "GET /api/v1/ocpp/transactions", Handler: http.HandlerFunc(in.s.handleTransactions)}}
}

// Server returns the central system, for outgoing calls.
func (in *sinkInstance) Server() *Server { return in.s }
