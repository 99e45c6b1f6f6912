// Package sim runs simulated devices as real Modbus TCP servers, one per
// built-in profile, so that the unchanged driver (and any Modbus master such
// as mbpoll) can be tested and demonstrated without hardware.
package sim

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridbox/gridbox/sim/httpsim"
	"github.com/simonvetter/modbus"
)

const (
	// tick is the period of the simulated dynamics.
	tick = time.Second
	// maxStep caps one dynamics step, so a stalled process does not jump.
	maxStep = 10 * time.Second
	// bindAttempts is how often a free port is picked when port 0 is asked for.
	bindAttempts = 5
	// errNoUnit answers requests for a unit id the simulator is not (as a
	// Modbus TCP gateway answers for an absent target: exception 0x0B).
	errNoUnit = modbus.ErrGWTargetFailedToRespond
)

// Names lists the simulators, sorted: one per built-in profile of a device
// that gridbox polls (the Modbus ones of this package, the HTTP ones of
// sim/httpsim, the KEBA on UDP), the Homematic CCU, and the SunSpec devices
// (sunspec-*), which need no profile.
func Names() []string {
	names := append([]string{"demo-room", "homematic-ccu", "huawei-sun2000", "janitza-umg96rm", "keba-p30", "sma-stp", "sunspec-der", "sunspec-float", "sunspec-int", "wallbox-sim"}, httpsim.Names()...)
	sort.Strings(names)
	return names
}

// Simulator is any running simulator.
type Simulator interface {
	URL() string  // where a driver reaches it: tcp://, udp:// or http://host:port
	Close() error // stops it; safe to call more than once
}

// Open runs simulator name on listen (port 0 picks a free one), whatever
// its protocol: Modbus TCP (unit 0 = the profile's default), HTTP, the KEBA
// P30 on UDP and the Homematic CCU's XML-RPC server.
func Open(ctx context.Context, name, listen string, unit uint8, log *slog.Logger) (Simulator, error) {
	switch name {
	case "keba-p30":
		return StartKEBA(ctx, listen, log)
	case "homematic-ccu":
		return StartCCU(ctx, listen, log)
	}
	s, err := Serve(ctx, name, listen, unit, log)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Sim is a running Modbus TCP or HTTP simulator.
type Sim interface {
	Addr() string // host:port it listens on
	URL() string  // how a driver reaches it: tcp://host:port, http://host:port
	Close() error
}

// Serve runs a Modbus TCP (unit 0 = the profile's default) or HTTP (unit
// must be 0) simulator on listen.
func Serve(ctx context.Context, name, listen string, unit uint8, log *slog.Logger) (Sim, error) {
	if slices.Contains(httpsim.Names(), name) {
		if unit != 0 {
			return nil, fmt.Errorf("simulator %s is an HTTP device and has no unit id", name)
		}
		return httpsim.Start(ctx, name, listen, log)
	}
	return Start(ctx, name, listen, unit, log)
}

// newDevice makes the device model of a simulator and its default unit id.
// A name may carry a variant after a colon (huawei-sun2000:pv).
func newDevice(name string) (device, uint8, error) {
	if base, variant, ok := strings.Cut(name, ":"); ok || base == "huawei-sun2000" {
		if base != "huawei-sun2000" {
			return nil, 0, fmt.Errorf("simulator %q has no variants", base)
		}
		h, err := newHuawei(variant)
		return h, 1, err
	}
	switch name {
	case "demo-room":
		return newRoom(), 1, nil
	case "sma-stp":
		return newSMA(), 3, nil
	case "janitza-umg96rm":
		return newJanitza(), 1, nil
	case "sunspec-int":
		return newSunSpecInt(), 1, nil
	case "sunspec-float":
		return newSunSpecFloat(), 1, nil
	case "sunspec-der":
		return newSunSpecDER(), 1, nil
	case "keba-p30", "homematic-ccu":
		return nil, 0, fmt.Errorf("simulator %q is not a Modbus device: use Open", name)
	case "wallbox-sim":
		return newWallboxDev(), 1, nil
	}
	return nil, 0, fmt.Errorf("unknown simulator %q (available: %s)", name, strings.Join(Names(), ", "))
}

// Server is one running simulated device.
type Server struct {
	name     string
	addr     string
	unit     uint8
	log      *slog.Logger
	ms       *modbus.ModbusServer
	front    *front      // for exclusive devices (exclusive.go); nil otherwise
	faulty   *faultFront // with injected faults (faultfront.go); nil otherwise
	requests atomic.Uint64

	mu  sync.Mutex // guards dev (the register image and its state)
	dev device

	cancel  context.CancelFunc
	done    chan struct{} // closed when run has stopped everything
	stopErr error         // set by run before done is closed
}

// Start runs simulator name as a Modbus TCP server on listen (host:port;
// port 0 picks a free port) answering unit (0 = the profile's default). It
// runs until ctx is done or Close is called. log may be nil.
func Start(ctx context.Context, name, listen string, unit uint8, log *slog.Logger) (*Server, error) {
	return start(ctx, name, listen, unit, log, tick)
}

// start is Start with the dynamics period; every 0 means no dynamics (tests
// call step themselves).
func start(ctx context.Context, name, listen string, unit uint8, lg *slog.Logger, every time.Duration) (*Server, error) {
	return startWith(ctx, name, listen, unit, lg, every, Faults{})
}

// startWith is start with faults injected in front of the device.
func startWith(ctx context.Context, name, listen string, unit uint8, lg *slog.Logger, every time.Duration, f Faults) (*Server, error) {
	dev, def, err := newDevice(name)
	if err != nil {
		return nil, err
	}
	if unit == 0 {
		unit = def
	}
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	s := &Server{name: name, unit: unit, log: lg, dev: dev, done: make(chan struct{})}
	if err := s.listenFaulty(listen, f); err != nil {
		return nil, fmt.Errorf("simulator %s on %s: %w", name, listen, err)
	}
	ctx, s.cancel = context.WithCancel(ctx)
	go s.run(ctx, every)
	lg.Info("simulator listening", "profile", name, "addr", s.addr, "unit", unit)
	return s, nil
}

// listenAll binds the Modbus server on listen; for an exclusive device it
// binds it on a private loopback port behind a front door on listen.
func (s *Server) listenAll(listen string) error {
	ex, ok := s.dev.(exclusive)
	if !ok {
		return s.listen(listen)
	}
	if err := s.listen("127.0.0.1:0"); err != nil {
		return err
	}
	f, err := startFront(listen, s.addr, ex.quietAfterConnect(), s.log)
	if err != nil {
		_ = s.ms.Stop()
		return err
	}
	s.front, s.addr = f, f.addr()
	return nil
}

// listen binds the Modbus server; for port 0 it picks a free port first
// (the library cannot report the port it bound) and retries if another
// process takes that port in between.
func (s *Server) listen(listen string) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q: want 0..65535", port)
	}
	attempts := 1
	if port == "0" {
		attempts = bindAttempts
	}
	for i := range attempts {
		p := port
		if port == "0" {
			if p, err = freePort(host); err != nil {
				return err
			}
		}
		if err = s.bind(net.JoinHostPort(host, p)); err == nil {
			return nil
		}
		s.log.Debug("bind failed", "attempt", i+1, "err", err)
	}
	return err
}

// bind starts the library's server on addr.
func (s *Server) bind(addr string) error {
	ms, err := modbus.NewServer(&modbus.ServerConfiguration{
		URL:        "tcp://" + addr,
		Timeout:    2 * time.Minute,
		MaxClients: 32,
		Logger:     log.New(libLog{s.log}, "", 0),
	}, handler{s})
	if err != nil {
		return err
	}
	if err := ms.Start(); err != nil {
		return err
	}
	s.ms, s.addr = ms, addr
	return nil
}

// freePort returns a TCP port on host that nothing listened on a moment ago.
func freePort(host string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// run advances the dynamics every period until ctx is done, then stops the
// Modbus server (its listener and every client connection).
func (s *Server) run(ctx context.Context, every time.Duration) {
	defer close(s.done)
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
			if s.faulty != nil {
				_ = s.faulty.close()
			}
			if s.front != nil {
				_ = s.front.close()
			}
			s.stopErr = s.ms.Stop()
			s.log.Info("simulator stopped", "profile", s.name, "addr", s.addr, "requests", s.Requests())
			return
		case now := <-ticks:
			s.step(min(now.Sub(last), maxStep))
			last = now
		}
	}
}

// step advances the device model by dt under the image lock.
func (s *Server) step(dt time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dev.step(dt)
}

// Addr returns the host:port the simulator listens on.
func (s *Server) Addr() string { return s.addr }

// URL returns the simulator's address in the Modbus driver's URL form.
func (s *Server) URL() string { return "tcp://" + s.addr }

// Requests returns how many Modbus requests the simulator has received.
func (s *Server) Requests() uint64 { return s.requests.Load() }

// Close stops the dynamics and the Modbus server and closes every client
// connection; it is safe to call more than once.
func (s *Server) Close() error {
	s.cancel()
	<-s.done
	if s.stopErr != nil {
		return fmt.Errorf("simulator %s: stop: %w", s.name, s.stopErr)
	}
	return nil
}

// libLog forwards the Modbus library's log lines to slog at their level.
type libLog struct{ log *slog.Logger }

// Write logs one line of the library ("prefix [warn]: message").
func (w libLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelDebug
	switch {
	case strings.Contains(msg, "[error]:"):
		level = slog.LevelError
	case strings.Contains(msg, "[warn]:"):
		level = slog.LevelWarn
	}
	w.log.Log(context.Background(), level, msg)
	return len(p), nil
}
