package modbus

import (
	"sync"
	"time"
)

// maxProbeDelay caps the delay between two probes of an offline device
// (or the interval, when that is longer).
const maxProbeDelay = time.Minute

// prober decides when an offline device is tried again: after its first
// failed poll at the next tick, then after backoff, doubling per failed
// probe up to max(interval, maxProbeDelay). A probe is one request without
// retries, so a silent unit on a shared bus costs the others at most one
// timeout per poll cycle. The zero value is an online device.
type prober struct {
	mu     sync.Mutex
	fails  int       // failed polls in a row
	next   time.Time // no poll before this while fails > 0
	probes int       // polls skipped so far while offline (for tests and logs)
}

// due reports whether the device should be polled at now.
func (p *prober) due(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fails == 0 || !now.Before(p.next) {
		return true
	}
	p.probes++
	return false
}

// failed records a failed poll at now.
func (p *prober) failed(now time.Time, c *Config) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fails++
	p.next = now.Add(probeDelay(c, p.fails))
}

// ok records a successful poll.
func (p *prober) ok() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fails = 0
}

// skipped returns how many ticks were skipped while offline.
func (p *prober) skipped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.probes
}

// probeDelay is the wait after the n-th failed poll in a row (n ≥ 1): none
// after the first (the next tick probes), then backoff doubling, capped.
func probeDelay(c *Config, n int) time.Duration {
	if n <= 1 || c.Backoff.D() <= 0 {
		return 0
	}
	d := c.Backoff.D()
	limit := max(c.Interval.D(), maxProbeDelay)
	for i := 2; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
