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
)

// authenticator checks bearer tokens according to the configured modes.
type authenticator struct {
	mode        string
	metricsAuth bool
	tokens      [][sha256.Size]byte // hashed, so comparisons take the same time for any length
	sessions    *Sessions           // logins of http.users (login.go); nil without users
}

// newAuthenticator validates the auth modes and tokens.
func newAuthenticator(mode, metrics string, tokens []string, sessions *Sessions) (authenticator, error) {
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
	for i, t := range tokens {
		if t == "" {
			return a, fmt.Errorf("api: tokens[%d] is empty", i)
		}
		a.tokens = append(a.tokens, sha256.Sum256([]byte(t)))
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
	case accessWrite:
		return a.mode != "none"
	case accessMetrics:
		return a.metricsAuth
	}
	return false
}

// wrap guards h with the token check that ac needs.
func (a authenticator) wrap(ac access, h http.HandlerFunc) http.Handler {
	if !a.needsToken(ac) {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, isSession := a.checkSession(r, ac)
		if !isSession {
			e = a.check(r, ac == accessStream)
		}
		if e != nil {
			if e.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="gridbox"`)
			}
			writeError(w, e)
			return
		}
		h(w, r)
	})
}

// check finds the request's token (header, or ?access_token= when query is
// allowed) and compares it with every configured token in constant time.
func (a authenticator) check(r *http.Request, query bool) *httpError {
	tok, present := bearer(r)
	if !present && query {
		tok, present = r.URL.Query().Get("access_token"), r.URL.Query().Has("access_token")
	}
	if !present {
		return errorf(http.StatusUnauthorized, "", "missing token: send Authorization: Bearer <token>")
	}
	sum := sha256.Sum256([]byte(tok))
	ok := 0
	for i := range a.tokens {
		ok |= subtle.ConstantTimeCompare(sum[:], a.tokens[i][:])
	}
	if ok != 1 {
		return errorf(http.StatusForbidden, "", "invalid token")
	}
	return nil
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
