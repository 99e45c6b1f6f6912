package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
)

// authAudit records authentication failures: every one is counted by
// reason; it is logged (remote address, method, path, reason and a short
// fingerprint of a wrong token — never the token), at most logBurst lines
// then one per second, the rest counted in the next line; a refused write
// is also an audit record (source rest, result refused).
type authAudit struct {
	failures *prometheus.CounterVec
	log      func(msg string, args ...any)
	audit    model.AuditLog

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
}

const logBurst = 10

func newAuthAudit(s *Server) *authAudit {
	return &authAudit{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_api_auth_failures_total",
			Help: "Requests refused for authentication, by reason: missing_token, invalid_token, insufficient_scope.",
		}, []string{"reason"}),
		log: s.log.Warn, audit: s.opts.Audit, tokens: logBurst,
	}
}

// guard wraps h with the token check that ac needs.
func (s *Server) guard(ac access, h http.HandlerFunc) http.Handler {
	if !s.auth.needsToken(ac) {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, isSession := s.auth.checkSession(r, ac)
		reason := "session"
		if !isSession {
			e, reason = s.auth.check(r, ac)
		}
		if e == nil {
			h(w, r)
			return
		}
		s.authFail.record(r, ac, reason, e.Error())
		if e.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gridbox"`)
		}
		writeError(w, e)
	})
}

func (a *authAudit) record(r *http.Request, ac access, reason, msg string) {
	a.failures.WithLabelValues(reason).Inc()
	if ok, suppressed := a.allowLog(); ok {
		args := []any{"remote", remoteHost(r), "method", r.Method, "path", r.URL.Path, "reason", reason}
		if tok, present := bearer(r); present {
			sum := sha256.Sum256([]byte(tok))
			args = append(args, "token_sha256", hex.EncodeToString(sum[:4]))
		}
		if suppressed > 0 {
			args = append(args, "suppressed", suppressed)
		}
		a.log("API authentication failed", args...)
	}
	if ac != accessWrite || a.audit == nil || r.PathValue("device") == "" {
		return
	}
	rec := model.AuditRecord{
		Time: time.Now().UnixMilli(), Source: "rest", Datapoint: r.PathValue("device") + "/" + r.PathValue("name"),
		Result: model.AuditRefused, Error: "authentication: " + msg + " (from " + remoteHost(r) + ")",
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := a.audit.Audit(ctx, rec); err != nil {
		a.log("audit record of an authentication failure not stored", "err", err)
	}
}

// allowLog is a token bucket of logBurst lines refilled at one per second;
// it returns how many lines were suppressed since the last logged one.
func (a *authAudit) allowLog() (bool, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if !a.last.IsZero() {
		a.tokens = min(logBurst, a.tokens+now.Sub(a.last).Seconds())
	}
	a.last = now
	if a.tokens < 1 {
		a.suppressed++
		return false, 0
	}
	a.tokens--
	n := a.suppressed
	a.suppressed = 0
	return true, n
}

func remoteHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}
