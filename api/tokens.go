package api

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gridbox/gridbox/config"
)

// Token scopes: what a bearer token may do.
const (
	ScopeRead    = "read"    // /api/v1 reads and the live stream
	ScopeWrite   = "write"   // reads and writes (values, setpoints, schedules)
	ScopeAdmin   = "admin"   // everything, /metrics too; a plain token string has this scope
	ScopeMetrics = "metrics" // /metrics only (a Prometheus scraper)
)

var scopes = []string{ScopeRead, ScopeWrite, ScopeAdmin, ScopeMetrics}

// ScopedToken is a bearer token with its scope.
type ScopedToken struct {
	Token string
	Scope string // ScopeRead, ScopeWrite, ScopeAdmin or ScopeMetrics; "" means admin
}

// TokenConfig is one item of `http.tokens`: a plain string (scope admin,
// as before scopes existed) or a mapping {token | file, scope}. A file holds
// the token (surrounding white space is ignored), e.g. a Docker or systemd
// secret.
type TokenConfig struct {
	Token string `yaml:"token"`
	File  string `yaml:"file"`
	Scope string `yaml:"scope"`
}

// UnmarshalYAML takes a string or a mapping with only the keys token, file
// and scope.
func (t *TokenConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*t = TokenConfig{Token: n.Value}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a token is a string or {token | file, scope}", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains([]string{"token", "file", "scope"}, k) {
			return fmt.Errorf("line %d: token key %q: unknown key (valid keys: file, scope, token)", n.Content[i].Line, k)
		}
	}
	type plain TokenConfig
	return n.Decode((*plain)(t))
}

// resolve returns the token with its scope, reading File.
func (t TokenConfig) resolve() (ScopedToken, error) {
	if err := checkScope(t.Scope); err != nil {
		return ScopedToken{}, err
	}
	switch {
	case t.Token != "" && t.File != "":
		return ScopedToken{}, fmt.Errorf("set token or file, not both")
	case t.File != "":
		b, err := config.ReadFile(t.File)
		if err != nil {
			return ScopedToken{}, fmt.Errorf("token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return ScopedToken{}, fmt.Errorf("token file %s is empty", t.File)
		}
		return ScopedToken{Token: tok, Scope: t.Scope}, nil
	case t.Token == "":
		return ScopedToken{}, fmt.Errorf("is empty")
	}
	return ScopedToken{Token: t.Token, Scope: t.Scope}, nil
}

func checkScope(s string) error {
	if s != "" && !slices.Contains(scopes, s) {
		return fmt.Errorf("scope %q: want read, write, admin or metrics", s)
	}
	return nil
}

// readTokenFile reads a file of `token_files`: one token per line with an
// optional scope after white space ("<token> read"); blank lines and lines
// starting with # are skipped. Without a scope a token is admin.
func readTokenFile(path string) ([]ScopedToken, error) {
	b, err := config.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	var out []ScopedToken
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		t := ScopedToken{Token: f[0]}
		if len(f) > 1 {
			t.Scope = f[1]
		}
		if err := checkScope(t.Scope); len(f) > 2 || err != nil {
			return nil, fmt.Errorf("%s:%d: want \"<token> [read|write|admin|metrics]\"", path, line)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("token file %s holds no token", path)
	}
	return out, nil
}
