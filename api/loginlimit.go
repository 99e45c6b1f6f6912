package api

import (
	"sync"
	"time"
)

// Failed logins allowed per remote address within loginWindow; the next
// attempt is answered 429 with Retry-After until the oldest failure leaves
// the window.
const (
	loginFailures = 5
	loginWindow   = time.Minute
	maxLimitHosts = 10000 // addresses tracked at once; beyond, the oldest-failing are forgotten first
)

// loginLimiter counts failed logins per remote address in a sliding window.
type loginLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	fails  map[string][]time.Time // per address, oldest first
}

func newLoginLimiter(max int, window time.Duration) *loginLimiter {
	return &loginLimiter{max: max, window: window, fails: map[string][]time.Time{}}
}

// blocked reports whether host has used up its failures, and for how long.
func (l *loginLimiter) blocked(host string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.pruneLocked(host, now)
	if len(f) < l.max {
		return 0, false
	}
	return f[len(f)-l.max].Add(l.window).Sub(now), true
}

// fail records a failed login of host.
func (l *loginLimiter) fail(host string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.fails[host]; !ok && len(l.fails) >= maxLimitHosts {
		for h := range l.fails { // make room: drop expired entries, else any one
			if len(l.pruneLocked(h, now)) == 0 || len(l.fails) >= maxLimitHosts {
				delete(l.fails, h)
			}
			if len(l.fails) < maxLimitHosts {
				break
			}
		}
	}
	l.fails[host] = append(l.pruneLocked(host, now), now)
}

// succeed forgets host's failures.
func (l *loginLimiter) succeed(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, host)
}

// pruneLocked drops host's failures older than the window; l.mu is held.
func (l *loginLimiter) pruneLocked(host string, now time.Time) []time.Time {
	f := l.fails[host]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, host)
		return nil
	}
	l.fails[host] = f
	return f
}
