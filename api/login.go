package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gridbox/gridbox/model"
)

// LoginRequest is the body of POST /api/v1/login.
type LoginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// LoginResult is the answer to a login: a bearer token valid until Expires (ms).
type LoginResult struct {
	Token   string `json:"token"`
	Expires int64  `json:"expires"`
	Name    string `json:"name"`
	Role    string `json:"role"`
}

// SessionInfo is the answer of GET /api/v1/session: what the UI must ask for.
type SessionInfo struct {
	Auth  string `json:"auth"`  // token, read-open or none
	Login bool   `json:"login"` // http.users are configured: the UI offers a login
	Name  string `json:"name,omitempty"`
	Role  string `json:"role,omitempty"` // of the token sent, if it is a login; "admin" for a static token
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.users == nil {
		writeError(w, errorf(http.StatusNotFound, "", "no users are configured (http.users)"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, bodyError(err))
		return
	}
	var req LoginRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Name == "" {
		writeError(w, errorf(http.StatusBadRequest, "body", `want {"name": "…", "password": "…"}`))
		return
	}
	host, now := remoteHost(r), time.Now()
	limit := s.auth.sessions.limit
	if wait, blocked := limit.blocked(host, now); blocked {
		s.loginRefused(r, req.Name, "rate_limited", fmt.Sprintf("more than %d failed logins from %s within %s", loginFailures, host, loginWindow))
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
		writeError(w, errorf(http.StatusTooManyRequests, "", "too many failed logins from your address: try again in %d s", max(1, secs)))
		return
	}
	u, ok := s.users.check(req.Name, req.Password)
	if !ok {
		limit.fail(host, now)
		s.loginRefused(r, req.Name, "wrong_credentials", "wrong name or password")
		writeError(w, errorf(http.StatusUnauthorized, "", "wrong name or password"))
		return
	}
	limit.succeed(host)
	tok, exp, err := s.auth.sessions.create(u, now)
	if err != nil {
		s.log.Warn("login session not saved: it ends with the process", "user", u.Name, "err", err)
	}
	s.log.Info("login", "user", u.Name, "role", u.Role, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, LoginResult{Token: tok, Expires: exp.UnixMilli(), Name: u.Name, Role: u.Role})
}

// loginRefused counts, logs and audits a refused login (source login,
// the name tried as the value, never the password).
func (s *Server) loginRefused(r *http.Request, name, reason, why string) {
	s.loginFails.WithLabelValues(reason).Inc()
	s.log.Warn("login refused", "user", model.Short(name), "remote", r.RemoteAddr, "reason", reason)
	if s.opts.Audit == nil {
		return
	}
	rec := model.AuditRecord{Time: time.Now().UnixMilli(), Source: "login", Value: model.Short(name),
		Result: model.AuditRefused, Error: why + " (from " + remoteHost(r) + ")"}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.opts.Audit.Audit(ctx, rec); err != nil {
		s.log.Warn("audit record of a refused login not stored", "err", err)
	}
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if tok, ok := bearer(r); ok && s.auth.sessions != nil {
		if err := s.auth.sessions.remove(tok); err != nil {
			s.log.Warn("logout not saved", "err", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	info := SessionInfo{Auth: s.auth.mode, Login: s.users != nil}
	if tok, ok := bearer(r); ok {
		if s.auth.sessions != nil {
			if se, ok := s.auth.sessions.lookup(tok, time.Now()); ok {
				info.Name, info.Role = se.User, se.Role
			}
		}
		if info.Role == "" {
			// An API token: its scope decides what the UI offers.
			if e, _ := s.auth.check(r, accessWrite); e == nil {
				info.Role = RoleAdmin
			} else if e, _ := s.auth.check(r, accessRead); e == nil {
				info.Role = RoleViewer
			}
		}
	}
	if info.Role == "" && s.auth.mode == "none" {
		info.Role = RoleAdmin
	}
	writeJSON(w, http.StatusOK, info)
}

// checkSession checks a login token (for the stream also in
// ?access_token=). isSession is false when the request carries no login
// token; then the static tokens are checked. A viewer cannot write.
func (a authenticator) checkSession(r *http.Request, ac access) (e *httpError, isSession bool) {
	if a.sessions == nil {
		return nil, false
	}
	tok, ok := bearer(r)
	if !ok && ac == accessStream {
		tok = r.URL.Query().Get("access_token")
	}
	if len(tok) < 4 || tok[:4] != "gbs_" {
		return nil, false
	}
	se, ok := a.sessions.lookup(tok, time.Now())
	if !ok {
		return errorf(http.StatusUnauthorized, "", "login expired or logged out: log in again"), true
	}
	if (ac == accessWrite || ac == accessAdmin) && se.Role != RoleAdmin {
		return errorf(http.StatusForbidden, "", "user %s is a viewer and cannot write or change the config", se.User), true
	}
	return nil, true
}
