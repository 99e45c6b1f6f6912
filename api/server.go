// Package api serves gridbox's REST API (docs/api.md), the live value stream
// (Server-Sent Events), /healthz, /metrics, the OpenAPI document and a small
// web UI. It is a sink and a write source of the bus and knows nothing of
// drivers, MQTT or the store beyond the History interface.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Server.
type Options struct {
	Auth        string        // "token" (default), "read-open" or "none"
	Tokens      []string      // accepted bearer tokens, scope admin
	Scoped      []ScopedToken // accepted bearer tokens with a scope
	CORSOrigins []string      // browser origins allowed cross-origin ("*": any); none: no CORS headers
	Users       []User        // who may log in (POST /api/v1/login); tokens of logins are accepted like Tokens, viewers only read
	Sessions    *Sessions     // login sessions, shared across in-process restarts; nil → a new store
	Config      ConfigEditor  // edits the config file (device endpoints); nil → those answer 501
	Profiles    ProfileLister // built-in profiles for the UI's device form; nil → none
	// DeviceSchemas is each driver's device entry as a JSON Schema
	// (sink.Env.DeviceSchemas), for GET /api/v1/drivers; nil → an empty list.
	DeviceSchemas map[string]config.Schema
	MetricsAuth   string // "none" (default) or "token"
	Version       string
	Log           *slog.Logger
	Metrics       prometheus.Registerer // for the api's own metrics; nil → none
	Gatherer      prometheus.Gatherer   // for /metrics; nil → 404
	History       model.History         // nil → history answers 503
	Audit         model.AuditLog        // nil → the audit log answers 503
	Controls      Controls              // setpoints and schedules; nil → those endpoints answer 404
	Broker        func() map[string]any // the MQTT broker's state for /api/v1/status; nil → none reported
	Extra         []sink.Route          // read-only routes of other sinks, served with read access
}

// Server is the HTTP side of a gateway; serve its Handler with an http.Server.
type Server struct {
	bus        *bus.Bus
	opts       Options
	log        *slog.Logger
	auth       authenticator
	authFail   *authAudit
	users      *userSet // nil without http.users
	assets     assets   // the web UI's files, with their gzip forms
	mux        *http.ServeMux
	routes     []route
	requests   *prometheus.CounterVec
	loginFails *prometheus.CounterVec // refused logins by reason
	streams    prometheus.Gauge
	metrics    http.Handler  // nil when there is no Gatherer
	heartbeat  time.Duration // SSE keep-alive comment interval
	scanning   atomic.Bool   // a network scan runs (one at a time)
}

// route is one served pattern with its access policy.
type route struct {
	pattern string
	access  access
	handle  http.HandlerFunc
}

const (
	heartbeatInterval = 15 * time.Second
	writeTimeout      = 30 * time.Second // a device write never holds a request longer
)

// New validates o and builds a server for b.
func New(b *bus.Bus, o Options) (*Server, error) {
	if b == nil {
		return nil, errors.New("api: bus is nil")
	}
	users, err := newUserSet(o.Users)
	if err != nil {
		return nil, err
	}
	var sessions *Sessions
	if users != nil {
		sessions = o.Sessions
		if sessions == nil {
			sessions = NewSessions()
		}
	}
	auth, err := newAuthenticator(o.Auth, o.MetricsAuth, o.Tokens, o.Scoped, sessions)
	if err != nil {
		return nil, err
	}
	s := &Server{bus: b, opts: o, log: o.Log, auth: auth, users: users, mux: http.NewServeMux(), heartbeat: heartbeatInterval}
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.authFail = newAuthAudit(s)
	if err := s.initMetrics(o.Metrics); err != nil {
		return nil, err
	}
	s.metrics = newMetricsHandler(o.Gatherer, s.log)
	s.routes = s.routeTable()
	for _, rt := range o.Extra {
		ac, err := extraAccess(rt)
		if err != nil {
			return nil, err
		}
		s.routes = append(s.routes, route{rt.Pattern, ac, rt.Handler.ServeHTTP})
	}
	for _, rt := range s.routes {
		s.mux.Handle(rt.pattern, s.guard(rt.access, rt.handle))
	}
	return s, nil
}

// extraAccess checks another sink's route: a GET (read access) or a Write
// route (write access), below /api/v1/ or a dialect's own root (/bemcom/),
// never over the API's own /, /ui/, /healthz or /metrics.
func extraAccess(rt sink.Route) (access, error) {
	method, path, _ := strings.Cut(rt.Pattern, " ")
	root, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch {
	case rt.Handler == nil || !strings.HasPrefix(path, "/") || !strings.Contains(path[1:], "/"):
	case root == "ui" || root == "healthz" || root == "metrics" || (root == "api" && !strings.HasPrefix(path, "/api/v1/")):
	case !rt.Write && method == http.MethodGet:
		return accessRead, nil
	case rt.Write && method != "":
		return accessWrite, nil
	}
	return 0, fmt.Errorf("api: extra route %q: want a GET (or a Write route) below /api/v1/ or a root of its own, with a handler", rt.Pattern)
}

// routeTable lists every endpoint; the OpenAPI test checks it against openapi.json.
func (s *Server) routeTable() []route {
	return []route{
		{"GET /api/v1/devices", accessRead, s.handleDevices},
		{"GET /api/v1/datapoints", accessRead, s.handleDatapoints},
		{"GET /api/v1/datapoints/{device}/{name}", accessRead, s.handleDatapoint},
		{"GET /api/v1/datapoints/{device}/{name}/history", accessRead, s.handleHistory},
		{"PUT /api/v1/datapoints/{device}/{name}/value", accessWrite, s.handleWrite},
		{"GET /api/v1/audit", accessRead, s.handleAudit},
		{"GET /api/v1/datapoints/{device}/{name}/setpoint", accessRead, s.handleGetItems("setpoint")},
		{"PUT /api/v1/datapoints/{device}/{name}/setpoint", accessWrite, s.handlePutItems("setpoint")},
		{"GET /api/v1/datapoints/{device}/{name}/schedule", accessRead, s.handleGetItems("schedule")},
		{"PUT /api/v1/datapoints/{device}/{name}/schedule", accessWrite, s.handlePutItems("schedule")},
		{"GET /api/v1/datapoints/{device}/{name}/control", accessRead, s.handleControlState},
		{"GET /api/v1/stream", accessStream, s.handleStream},
		{"GET /api/v1/openapi.json", accessOpen, s.handleOpenAPI},
		{"GET /healthz", accessOpen, s.handleHealth},
		{"GET /metrics", accessMetrics, s.handleMetrics},
		{"POST /api/v1/login", accessOpen, s.handleLogin},
		{"POST /api/v1/logout", accessOpen, s.handleLogout},
		{"GET /api/v1/session", accessOpen, s.handleSession},
		{"GET /api/v1/profiles", accessRead, s.handleProfiles},
		{"GET /api/v1/drivers", accessRead, s.handleDrivers},
		{"POST /api/v1/scan", accessAdmin, s.handleScan},
		{"GET /api/v1/status", accessRead, s.handleStatus},
		{"POST /api/v1/devices", accessWrite, s.handleDeviceAdd},
		{"GET /api/v1/devices/{id}/config", accessWrite, s.handleDeviceConfig},
		{"PUT /api/v1/devices/{id}", accessWrite, s.handleDeviceEdit},
		{"DELETE /api/v1/devices/{id}", accessWrite, s.handleDeviceRemove},
		{"GET /{$}", accessOpen, s.handleUI},
		{"GET /ui/{file...}", accessOpen, s.handleAsset},
	}
}

// HeaderLimit is the largest request header (request line and header
// fields) the API serves; a larger one is answered 431 with a JSON error.
const HeaderLimit = 64 << 10

// MaxHeaderBytes is the http.Server.MaxHeaderBytes to serve Handler with.
// net/http answers a header beyond it (plus 4 KiB) itself, with a plain-text
// 431, before any handler runs; keeping it well above HeaderLimit leaves
// those answers to the API, in JSON, for every header up to this size.
// It is net/http's default (1 MiB); set it explicitly all the same.
const MaxHeaderBytes = 1 << 20

// Handler returns the handler serving every endpoint.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// serve dispatches r, answers unmatched requests and oversized headers with
// JSON and counts every request.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	if s.cors(rec, r) {
		s.requests.WithLabelValues("cors preflight", strconv.Itoa(rec.code())).Inc()
		return
	}
	if headerSize(r) > HeaderLimit {
		rec.Header().Set("Connection", "close")
		writeError(rec, errorf(http.StatusRequestHeaderFieldsTooLarge, "", "request header is larger than %d bytes", HeaderLimit))
	} else if _, pattern := s.mux.Handler(r); pattern == "" {
		s.unmatched(rec, r)
	} else {
		s.mux.ServeHTTP(rec, r)
	}
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.requests.WithLabelValues(route, strconv.Itoa(rec.code())).Inc()
}

// unmatched answers 404 or 405 (with Allow) as JSON instead of the mux's plain text.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	probe := &probeWriter{header: http.Header{}}
	s.mux.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		allow := probe.header.Get("Allow")
		w.Header().Set("Allow", allow)
		writeError(w, errorf(http.StatusMethodNotAllowed, "", "method %s not allowed on %s (allowed: %s)", model.Short(r.Method), model.Short(r.URL.Path), allow))
		return
	}
	writeError(w, errorf(http.StatusNotFound, "", "no endpoint %s %s", model.Short(r.Method), model.Short(r.URL.Path)))
}

// headerSize is the size of r's request line and header fields as the
// client sent them, give or take optional white space.
func headerSize(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	if _, ok := r.Header["Host"]; !ok && r.Host != "" { // the server moves Host out of Header
		n += len("Host: ") + len(r.Host) + 2
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + 2
		}
	}
	return n
}

// initMetrics creates the api's own metrics and registers them on reg
// (reusing collectors already registered by an earlier Server).
func (s *Server) initMetrics(reg prometheus.Registerer) error {
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridbox_http_requests_total",
		Help: "HTTP requests by route (mux pattern, or unmatched) and status code.",
	}, []string{"route", "code"})
	s.loginFails = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridbox_api_logins_refused_total",
		Help: "Logins (POST /api/v1/login) refused, by reason: wrong_credentials, rate_limited (too many failures from one address).",
	}, []string{"reason"})
	s.streams = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gridbox_http_stream_clients",
		Help: "Clients connected to the live stream /api/v1/stream.",
	})
	if reg == nil {
		return nil
	}
	if err := reg.Register(s.requests); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return fmt.Errorf("api: register metrics: %w", err)
		}
		s.requests = are.ExistingCollector.(*prometheus.CounterVec)
	}
	if err := reg.Register(s.streams); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return fmt.Errorf("api: register metrics: %w", err)
		}
		s.streams = are.ExistingCollector.(prometheus.Gauge)
	}
	if err := reg.Register(s.loginFails); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return fmt.Errorf("api: register metrics: %w", err)
		}
		s.loginFails = are.ExistingCollector.(*prometheus.CounterVec)
	}
	if err := reg.Register(s.authFail.failures); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return fmt.Errorf("api: register metrics: %w", err)
		}
		s.authFail.failures = are.ExistingCollector.(*prometheus.CounterVec)
	}
	return nil
}

// recorder remembers the status code written through it.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (Flush, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// probeWriter captures what the mux would answer to an unmatched request.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header         { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (p *probeWriter) WriteHeader(code int)        { p.status = code }

// pathKey returns the {device} and {name} path values of r.
func pathKey(r *http.Request) (string, string) {
	return r.PathValue("device"), r.PathValue("name")
}

// unknownPoint is the 404 for a datapoint address.
func unknownPoint(device, name string) *httpError {
	return errorf(http.StatusNotFound, "", "unknown datapoint %s", model.Short(model.Key(device, name)))
}
