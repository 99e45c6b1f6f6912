package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// SessionsFile is the file below the data directory that keeps the login
// sessions across restarts of the process: the SHA-256 of each token (never
// the token), its user, role and expiry.
const SessionsFile = "sessions.json"

// Sessions are the login tokens handed out by POST /api/v1/login. One
// Sessions outlives the API servers of in-process restarts (WithSessions),
// so applying a config edited in the UI does not log its user out; with a
// file (Persist) they also survive a restart of the process. It also holds
// the login rate limiter, which must outlive the servers as well.
type Sessions struct {
	mu     sync.Mutex
	byHash map[string]session // by hex SHA-256 of the token
	path   string             // the file they are kept in; "" → memory only
	limit  *loginLimiter
}

type session struct {
	User    string    `json:"user"`
	Role    string    `json:"role"`
	Expires time.Time `json:"expires"`
}

// NewSessions returns an empty session store kept in memory.
func NewSessions() *Sessions {
	return &Sessions{byHash: map[string]session{}, limit: newLoginLimiter(loginFailures, loginWindow)}
}

type sessionsKey struct{}

// WithSessions hands s to the API servers started with ctx.
func WithSessions(ctx context.Context, s *Sessions) context.Context {
	return context.WithValue(ctx, sessionsKey{}, s)
}

// sessionsFrom returns the store in ctx, or a new one.
func sessionsFrom(ctx context.Context) *Sessions {
	if s, ok := ctx.Value(sessionsKey{}).(*Sessions); ok && s != nil {
		return s
	}
	return NewSessions()
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// Persist keeps the sessions in dir/sessions.json from now on: the live
// sessions of the file are loaded (added to those in memory) and every
// login and logout rewrites it. Calling it again with the same dir does
// nothing.
func (s *Sessions) Persist(dir string) error {
	path := filepath.Join(dir, SessionsFile)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.path == path {
		return nil
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("sessions: %w", err)
	default:
		var saved map[string]session
		if err := json.Unmarshal(data, &saved); err != nil {
			return fmt.Errorf("sessions: %s: %w", path, err)
		}
		now := time.Now()
		for h, se := range saved {
			if _, err := hex.DecodeString(h); err != nil || len(h) != 2*sha256.Size || now.After(se.Expires) {
				continue
			}
			if _, ok := s.byHash[h]; !ok {
				s.byHash[h] = se
			}
		}
	}
	s.path = path
	return s.saveLocked()
}

// saveLocked writes the live sessions to the file atomically (temp file +
// rename, mode 0600). s.mu is held.
func (s *Sessions) saveLocked() error {
	if s.path == "" {
		return nil
	}
	data, err := json.Marshal(s.byHash)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".sessions-*")
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("sessions: write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("sessions: %w", err)
	}
	return nil
}

// create opens a session and returns its token. An error saving it is
// returned with the token, which works until the process ends.
func (s *Sessions) create(u User, now time.Time) (string, time.Time, error) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "gbs_" + base64.RawURLEncoding.EncodeToString(b)
	exp := now.Add(sessionTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, v := range s.byHash { // drop expired ones
		if now.After(v.Expires) {
			delete(s.byHash, h)
		}
	}
	s.byHash[hashToken(tok)] = session{User: u.Name, Role: u.Role, Expires: exp}
	return tok, exp, s.saveLocked()
}

// lookup returns the live session of tok.
func (s *Sessions) lookup(tok string, now time.Time) (session, bool) {
	if !strings.HasPrefix(tok, "gbs_") {
		return session{}, false
	}
	h := hashToken(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byHash[h]
	if !ok || now.After(v.Expires) {
		return session{}, false
	}
	return v, true
}

// remove ends the session of tok.
func (s *Sessions) remove(tok string) error {
	h := hashToken(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byHash[h]; !ok {
		return nil
	}
	delete(s.byHash, h)
	return s.saveLocked()
}
