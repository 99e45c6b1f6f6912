package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// access is what a route needs from a caller.
type access int

const (
	accessOpen    access = iota // never authenticated: /healthz, UI, OpenAPI document
	accessRead                  // /api/v1 reads: token unless auth is read-open or none
	accessWrite                 // /api/v1 writes: token unless auth is none
	accessStream                // like accessRead, also accepts ?access_token=
	accessMetrics               // /metrics: token when metrics_auth is token
	accessAdmin                 // like accessWrite, but only scope admin (or an admin login): network scans
)

// allows reports whether a token of scope may use a route with access ac.
func allows(scope string, ac access) bool {
	switch scope {
	case ScopeAdmin, "":
		return true
	case ScopeWrite:
		return ac == accessRead || ac == accessStream || ac == accessWrite
	case ScopeRead:
		return ac == accessRead || ac == accessStream
	case ScopeMetrics:
		return ac == accessMetrics
	}
	return false
}

// token is a configured token, hashed so comparisons take the same time
// for any length.
type token struct {
	sum   [sha256.Size]byte
	scope string
}

// authenticator checks bearer tokens according to the configured modes.
type authenticator struct {
	mode        string
	metricsAuth bool
	tokens      []token
	sessions    *Sessions // logins of http.users (login.go); nil without users
}

// newAuthenticator validates the auth modes and tokens. Plain tokens have
// scope admin.
func newAuthenticator(mode, metrics string, plain []string, scoped []ScopedToken, sessions *Sessions) (authenticator, error) {
	if mode == "" {
		mode = "token"
	}
	if metrics == "" {
		metrics = "none"
	}
	a := authenticator{mode: mode, metricsAuth: metrics == "token", sessions: sessions}
	switch mode {
	case "token", "read-open", "none":
	default:
		return a, fmt.Errorf("api: auth %q: want token, read-open or none", mode)
	}
	if metrics != "none" && metrics != "token" {
		return a, fmt.Errorf("api: metrics auth %q: want none or token", metrics)
	}
	all := make([]ScopedToken, 0, len(plain)+len(scoped))
	for _, t := range plain {
		all = append(all, ScopedToken{Token: t, Scope: ScopeAdmin})
	}
	for i, t := range append(all, scoped...) {
		if t.Token == "" {
			return a, fmt.Errorf("api: tokens[%d] is empty", i)
		}
		if err := checkScope(t.Scope); err != nil {
			return a, fmt.Errorf("api: tokens[%d]: %w", i, err)
		}
		a.tokens = append(a.tokens, token{sha256.Sum256([]byte(t.Token)), t.Scope})
	}
	if len(a.tokens) == 0 && sessions == nil && (mode != "none" || a.metricsAuth) {
		return a, errors.New("api: auth needs at least one token or user (auth token/read-open or metrics auth token)")
	}
	return a, nil
}

// needsToken reports whether a request to a route with access ac must carry a token.
func (a authenticator) needsToken(ac access) bool {
	switch ac {
	case accessRead, accessStream:
		return a.mode == "token"
	case accessWrite, accessAdmin:
		return a.mode != "none"
	case accessMetrics:
		return a.metricsAuth
	}
	return false
}

// Reasons an authentication failed, the label of
// gridbox_api_auth_failures_total.
const (
	failMissing = "missing_token"
	failInvalid = "invalid_token"
	failScope   = "insufficient_scope"
)

// check finds the request's token (header, or ?access_token= when query is
// allowed), compares it with every configured token in constant time and
// checks its scope against ac. On failure it returns the answer and the
// reason.
func (a authenticator) check(r *http.Request, ac access) (*httpError, string) {
	tok, present := bearer(r)
	if !present && ac == accessStream {
		tok, present = r.URL.Query().Get("access_token"), r.URL.Query().Has("access_token")
	}
	if !present {
		return errorf(http.StatusUnauthorized, "", "missing token: send Authorization: Bearer <token>"), failMissing
	}
	sum := sha256.Sum256([]byte(tok))
	found, scope := 0, ""
	for i := range a.tokens {
		eq := subtle.ConstantTimeCompare(sum[:], a.tokens[i].sum[:])
		if eq == 1 && found == 0 {
			scope = a.tokens[i].scope
		}
		found |= eq
	}
	if found != 1 {
		return errorf(http.StatusForbidden, "", "invalid token"), failInvalid
	}
	if !allows(scope, ac) {
		return errorf(http.StatusForbidden, "", "token scope %q does not allow this request (%s)", scope, needed(ac)), failScope
	}
	return nil, ""
}

// needed names the scopes a route with access ac accepts.
func needed(ac access) string {
	switch ac {
	case accessWrite:
		return "needs scope write or admin"
	case accessAdmin:
		return "needs scope admin"
	case accessMetrics:
		return "needs scope metrics or admin"
	}
	return "needs scope read, write or admin"
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
// A header with another scheme counts as no token.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}
