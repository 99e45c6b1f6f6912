package sim

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/sim/httpsim"
)

// Faults is what a fault-injecting simulator does wrong (gridbox sim
// --faults timeout=5%,exception=2%,garbage=1%,slow=200ms,halfopen). The
// rates are per request and exclusive: a request gets at most one of
// timeout, exception and garbage.
type Faults struct {
	Timeout   float64       // swallow the request: no answer at all
	Exception float64       // answer with exception 04 (server device failure)
	Garbage   float64       // answer with random bytes under a wrong transaction id
	Slow      time.Duration // delay every answer by this much
	HalfOpen  bool          // each connection goes silent after a few requests, left open
	Seed      uint64        // seed of the fault RNG; 0 picks one from the clock
}

// Any reports whether f injects anything.
func (f Faults) Any() bool {
	return f.Timeout > 0 || f.Exception > 0 || f.Garbage > 0 || f.Slow > 0 || f.HalfOpen
}

// String renders f in the --faults syntax.
func (f Faults) String() string {
	var parts []string
	pct := func(k string, v float64) {
		if v > 0 {
			parts = append(parts, k+"="+strconv.FormatFloat(v*100, 'g', -1, 64)+"%")
		}
	}
	pct("timeout", f.Timeout)
	pct("exception", f.Exception)
	pct("garbage", f.Garbage)
	if f.Slow > 0 {
		parts = append(parts, "slow="+f.Slow.String())
	}
	if f.HalfOpen {
		parts = append(parts, "halfopen")
	}
	if f.Seed != 0 {
		parts = append(parts, "seed="+strconv.FormatUint(f.Seed, 10))
	}
	return strings.Join(parts, ",")
}

// ParseFaults parses the --faults syntax: comma-separated timeout=P%,
// exception=P%, garbage=P% (P in 0..100, the three summing to at most 100),
// slow=DURATION, halfopen and seed=N.
func ParseFaults(s string) (Faults, error) {
	var f Faults
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, hasVal := strings.Cut(part, "=")
		if err := f.set(key, val, hasVal); err != nil {
			return Faults{}, fmt.Errorf("faults %q: %w", part, err)
		}
	}
	if sum := f.Timeout + f.Exception + f.Garbage; sum > 1 {
		return Faults{}, fmt.Errorf("faults: timeout+exception+garbage = %g%%: want at most 100%%", sum*100)
	}
	return f, nil
}

// set applies one key=value of the --faults syntax.
func (f *Faults) set(key, val string, hasVal bool) error {
	var err error
	switch key {
	case "timeout":
		f.Timeout, err = parseRate(val)
	case "exception":
		f.Exception, err = parseRate(val)
	case "garbage":
		f.Garbage, err = parseRate(val)
	case "slow":
		f.Slow, err = time.ParseDuration(val)
		if err == nil && f.Slow < 0 {
			err = fmt.Errorf("negative duration")
		}
	case "halfopen":
		if hasVal {
			return fmt.Errorf("halfopen takes no value")
		}
		f.HalfOpen = true
	case "seed":
		f.Seed, err = strconv.ParseUint(val, 10, 64)
	default:
		return fmt.Errorf("unknown fault %q (want timeout, exception, garbage, slow, halfopen, seed)", key)
	}
	return err
}

// parseRate parses "5%" (or "5") into 0.05.
func parseRate(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || v < 0 || v > 100 {
		return 0, fmt.Errorf("rate %q: want a percentage 0..100", s)
	}
	return v / 100, nil
}

// fault is what happens to one request.
type fault int

const (
	passThrough fault = iota
	dropRequest
	answerException
	answerGarbage
)

// faultRNG draws faults; the caller serialises access.
type faultRNG struct {
	f Faults
	r *rand.Rand
}

func newFaultRNG(f Faults) *faultRNG {
	seed := f.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return &faultRNG{f: f, r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// next picks the fault of the next request.
func (g *faultRNG) next() fault {
	x := g.r.Float64()
	switch {
	case x < g.f.Timeout:
		return dropRequest
	case x < g.f.Timeout+g.f.Exception:
		return answerException
	case x < g.f.Timeout+g.f.Exception+g.f.Garbage:
		return answerGarbage
	}
	return passThrough
}

// halfOpenAfter is how many requests a new connection answers before it
// goes silent (3..10).
func (g *faultRNG) halfOpenAfter() int { return 3 + g.r.IntN(8) }

// fill writes random bytes into b.
func (g *faultRNG) fill(b []byte) {
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
}

// StartFaulty is Start with faults injected between the clients and the
// simulated device. A zero f is Start.
func StartFaulty(ctx context.Context, name, listen string, unit uint8, f Faults, log *slog.Logger) (*Server, error) {
	if slices.Contains(httpsim.Names(), name) || name == "keba-p30" || name == "homematic-ccu" {
		return nil, fmt.Errorf("simulator %s is not a Modbus TCP device: faults apply to Modbus TCP simulators only", name)
	}
	return startWith(ctx, name, listen, unit, log, tick, f)
}

// listenFaulty binds the device on listen, or on a private loopback port
// behind a fault-injecting front door on listen.
func (s *Server) listenFaulty(listen string, f Faults) error {
	if !f.Any() {
		return s.listenAll(listen)
	}
	if err := s.listenAll("127.0.0.1:0"); err != nil {
		return err
	}
	ff, err := startFaultFront(listen, s.addr, f, s.log)
	if err != nil {
		if s.front != nil {
			_ = s.front.close()
		}
		_ = s.ms.Stop()
		return err
	}
	s.faulty, s.addr = ff, ff.addr()
	s.log.Info("simulator injects faults", "profile", s.name, "faults", f.String())
	return nil
}

// Injected returns how many faults of each class the simulator injected
// (timeout, exception, garbage, halfopen); nil without faults.
func (s *Server) Injected() map[string]uint64 {
	if s.faulty == nil {
		return nil
	}
	in := &s.faulty.injected
	return map[string]uint64{"timeout": in[dropRequest].Load(), "exception": in[answerException].Load(),
		"garbage": in[answerGarbage].Load(), "halfopen": in[4].Load(), "passed": in[passThrough].Load()}
}

// Clients returns how many client connections the fault front door holds
// open (-1 without faults).
func (s *Server) Clients() int {
	if s.faulty == nil {
		return -1
	}
	return s.faulty.clients()
}

// SetFaults changes the faults injected from the next request on (a
// connection already half-open stays silent). It does nothing on a
// simulator started without faults.
func (s *Server) SetFaults(f Faults) {
	if s.faulty == nil {
		return
	}
	s.faulty.mu.Lock()
	defer s.faulty.mu.Unlock()
	s.faulty.rng.f = f
}
