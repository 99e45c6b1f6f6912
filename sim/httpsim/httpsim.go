// Package httpsim runs simulated HTTP devices, one per built-in profile of
// the HTTP driver (fronius-solar-api, senertec-dachs, ambus-net), so the
// unchanged driver and any HTTP client (curl) can read and write them.
package httpsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Names lists the simulators, sorted.
func Names() []string { return []string{"ambus-net", "fronius-solar-api", "senertec-dachs"} }

// device is one simulated device's model; the Server serializes calls.
type device interface {
	// serve answers one request: status, content type and body.
	serve(r *http.Request, body []byte) (int, string, string)
	// step advances the simulated physics by dt.
	step(dt time.Duration)
}

func newDevice(name string) (device, error) {
	switch name {
	case "fronius-solar-api":
		return newFronius(), nil
	case "senertec-dachs":
		return newDachs(), nil
	case "ambus-net":
		return newAmbus(), nil
	}
	return nil, fmt.Errorf("unknown HTTP simulator %q (available: %s)", name, strings.Join(Names(), ", "))
}

// maxRequest bounds a request body the simulators read.
const maxRequest = 64 << 10

// Server is one running simulated HTTP device.
type Server struct {
	name     string
	ln       net.Listener
	srv      *http.Server
	log      *slog.Logger
	requests atomic.Uint64

	mu  sync.Mutex
	dev device

	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs simulator name on listen (host:port; port 0 picks a free one)
// until ctx is done or Close is called. log may be nil.
func Start(ctx context.Context, name, listen string, log *slog.Logger) (*Server, error) {
	return start(ctx, name, listen, log, time.Second)
}

func start(ctx context.Context, name, listen string, log *slog.Logger, every time.Duration) (*Server, error) {
	dev, err := newDevice(name)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("simulator %s on %s: %w", name, listen, err)
	}
	s := &Server{name: name, ln: ln, log: log, dev: dev, done: make(chan struct{})}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	ctx, s.cancel = context.WithCancel(ctx)
	go s.run(ctx, every)
	log.Info("simulator listening", "profile", name, "addr", s.Addr())
	return s, nil
}

// run serves and steps the dynamics until ctx is done, then shuts down.
func (s *Server) run(ctx context.Context, every time.Duration) {
	defer close(s.done)
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.ln) }()
	var ticks <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		ticks = t.C
	}
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := s.srv.Shutdown(sctx); err != nil {
				s.srv.Close()
			}
			<-served
			s.log.Info("simulator stopped", "profile", s.name, "requests", s.Requests())
			return
		case err := <-served:
			if !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("simulator stopped serving", "profile", s.name, "err", err)
			}
			<-ctx.Done()
			return
		case now := <-ticks:
			s.mu.Lock()
			s.dev.step(min(now.Sub(last), 10*time.Second))
			s.mu.Unlock()
			last = now
		}
	}
}

// ServeHTTP answers one request through the device model.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	s.mu.Lock()
	status, ctype, out := s.dev.serve(r, body)
	s.mu.Unlock()
	s.log.Debug("request", "method", r.Method, "uri", r.RequestURI, "status", status)
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(out))
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if len(b) > maxRequest {
		return nil, fmt.Errorf("request body above %d bytes", maxRequest)
	}
	return b, err
}

// Addr returns the host:port the simulator listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the simulator's base URL.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Requests returns how many requests the simulator has answered.
func (s *Server) Requests() uint64 { return s.requests.Load() }

// Close stops the simulator; it is safe to call more than once.
func (s *Server) Close() error {
	s.cancel()
	<-s.done
	return nil
}
