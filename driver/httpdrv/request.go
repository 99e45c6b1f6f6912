package httpdrv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver/internal/docpath"
)

// target is the resolved read request of a device: the config's keys over
// the profile's.
type target struct {
	method  string
	url     *template.Template // full URL, may hold {{.Unit}}
	base    string             // what write paths are relative to
	headers map[string]string
	body    *template.Template
	auth    *Auth
	format  string
	pause   time.Duration
	maxBody int64
	units   []string
}

// tmplData is what request templates see.
type tmplData struct {
	Unit  string
	Value string
}

// resolve merges the config and the profile (nil without one).
func resolve(c *Config, p *Profile) (*target, []config.FieldError) {
	t := &target{method: http.MethodGet, headers: map[string]string{}, auth: c.Auth, format: c.Format, maxBody: c.MaxBody, units: c.Units}
	rawURL, body := c.URL, c.Body
	t.base = baseOf(c.URL)
	if p != nil {
		if p.PerUnit && len(c.Units) == 0 {
			return nil, []config.FieldError{config.Errf("units", "profile %s reads one meter per request: list the meter ids", p.Name)}
		}
		rawURL, body = t.applyProfile(c, p)
	}
	if c.Method != "" {
		t.method = c.Method
	}
	for k, v := range c.Headers {
		t.headers[k] = v
	}
	if c.Pause != nil {
		t.pause = c.Pause.D()
	}
	var errs []config.FieldError
	var err error
	if t.url, err = parseTemplate(rawURL); err != nil {
		errs = append(errs, config.Errf("url", "%v", err))
	}
	if t.body, err = parseTemplate(body); err != nil {
		errs = append(errs, config.Errf("body", "%v", err))
	}
	if !validMethod(t.method) {
		errs = append(errs, config.Errf("method", "%q is not an HTTP method", t.method))
	}
	return t, errs
}

// applyProfile sets the profile's request, format and pause; it returns
// the request URL (base URL + the profile's path) and the body template.
func (t *target) applyProfile(c *Config, p *Profile) (rawURL, body string) {
	t.base = strings.TrimSuffix(c.URL, "/")
	if p.Request.Method != "" {
		t.method = p.Request.Method
	}
	for k, v := range p.Request.Headers {
		t.headers[k] = v
	}
	if t.format == "" {
		t.format = p.Format
	}
	if p.Pause != nil {
		t.pause = p.Pause.D()
	}
	body = c.Body
	if body == "" {
		body = p.Request.Body
	}
	return t.base + p.Request.Path, body
}

// redact hides a password in a URL for errors and logs.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

// baseOf returns scheme://host of a URL.
func baseOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Scheme + "://" + u.Host
}

// fetchError is a failed exchange with its kind for the errors metric:
// io, timeout, status, oversized.
type fetchError struct {
	kind string
	err  error
}

func (e *fetchError) Error() string { return e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// errKind classifies an error of a poll for the errors metric.
func errKind(err error) string {
	var fe *fetchError
	var te *docpath.TypeError
	switch {
	case errors.As(err, &fe):
		return fe.kind
	case errors.Is(err, docpath.ErrMalformed):
		return "malformed"
	case errors.As(err, &te):
		return "type"
	}
	return "io"
}

// render executes a template.
func render(t *template.Template, d tmplData) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// exchange sends one request and returns the answer's body, read up to
// maxBody bytes: a bigger answer, a status other than 2xx or a transport
// error is a *fetchError.
func exchange(ctx context.Context, c *http.Client, method, u string, headers map[string]string, auth *Auth, body string, maxBody int64) ([]byte, error) {
	shown := redact(u)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, &fetchError{"io", fmt.Errorf("%s %s: %w", method, shown, redactErr(err))}
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if auth != nil && auth.Token != "" {
		req.Header.Set("Authorization", "Bearer "+auth.Token)
	} else if auth != nil {
		req.SetBasicAuth(auth.Username, auth.Password)
	}
	resp, err := c.Do(req)
	if err != nil {
		kind := "io"
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			kind = "timeout"
		}
		return nil, &fetchError{kind, fmt.Errorf("%s %s: %w", method, shown, redactErr(err))}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, &fetchError{"status", fmt.Errorf("%s %s: HTTP %s: %s", method, shown, resp.Status, snippet(data))}
	case int64(len(data)) > maxBody:
		return nil, &fetchError{"oversized", fmt.Errorf("%s %s: answer is larger than max_body %d bytes", method, shown, maxBody)}
	case err != nil:
		return nil, &fetchError{"io", fmt.Errorf("%s %s: reading the answer: %w", method, shown, err)}
	}
	return data, nil
}

// redactErr keeps an error but drops the URL net/http puts in front
// (already shown, redacted, by the caller).
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// snippet shows the start of an answer in an error.
func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// read fetches the answer for unit and parses it.
func (t *target) read(ctx context.Context, c *http.Client, unit string) (docpath.Doc, []byte, error) {
	d := tmplData{Unit: unit}
	u, err := render(t.url, d)
	if err != nil {
		return nil, nil, fmt.Errorf("url template: %w", err)
	}
	body, err := render(t.body, d)
	if err != nil {
		return nil, nil, fmt.Errorf("body template: %w", err)
	}
	data, err := exchange(ctx, c, t.method, u, t.headers, t.auth, body, t.maxBody)
	if err != nil {
		return nil, nil, err
	}
	doc, err := docpath.Parse(t.format, data)
	if err != nil {
		return nil, data, fmt.Errorf("%s %s: %w", t.method, redact(u), err)
	}
	return doc, data, nil
}
