package socket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/url"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/docpath"
)

// SpecSyntax describes the URL and SPEC forms ReadOnce accepts.
const SpecSyntax = `  URL   tcp://host:port[?format=json|yaml&delimiter=newline|document] (format json by default)
  SPEC  a dotted path into the first document that arrives: meter.power, phases.0
        (--timeout is how long to wait for that document)`

// OneShot returns the socket driver's one-shot read (`gridbox read --driver
// socket`): it connects, takes the first document that parses and reads
// every spec from it.
func OneShot() driver.OneShot { return oneShot{} }

type oneShot struct{}

// ReadOnce implements driver.OneShot.
func (oneShot) ReadOnce(ctx context.Context, req driver.ReadRequest) (iter.Seq[driver.Reading], error) {
	cfg, err := oneShotConfig(req)
	if err != nil {
		return nil, err
	}
	addr, _ := parseURL(cfg.URL)
	return func(yield func(driver.Reading) bool) {
		doc, err := firstDocument(ctx, cfg, addr)
		for _, s := range req.Specs {
			r := driver.Reading{Name: s, Err: err}
			if err == nil {
				r.Raw, r.Value, r.Err = lookup(doc, s)
			}
			if !yield(r) {
				return
			}
		}
	}, nil
}

// oneShotConfig checks the request and turns the URL's query into a config.
func oneShotConfig(req driver.ReadRequest) (*Config, error) {
	switch {
	case req.Profile != "":
		return nil, errors.New("the socket driver has no profiles: give paths as SPECs")
	case req.Unit != nil:
		return nil, errors.New("the socket driver has no unit: leave out --unit")
	case len(req.Specs) == 0:
		return nil, errors.New("give paths as SPECs")
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	q := u.Query()
	u.RawQuery = ""
	cfg := NewConfig()
	cfg.URL, cfg.Format, cfg.Delimiter = u.String(), q.Get("format"), q.Get("delimiter")
	if cfg.Format == "" {
		cfg.Format = docpath.JSON
	}
	if req.Timeout > 0 {
		cfg.Timeout = config.Duration(req.Timeout)
	}
	for _, s := range req.Specs {
		if err := docpath.CheckPath(docpath.JSON, s); err != nil {
			return nil, fmt.Errorf("spec %q: %w", s, err)
		}
	}
	if _, err := parseURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if !config.OneOf(cfg.Format, docpath.JSON, docpath.YAML) {
		return nil, fmt.Errorf("url: format %q: want json or yaml", cfg.Format)
	}
	if cfg.Delimiter != "" && !config.OneOf(cfg.Delimiter, Newline, Document) {
		return nil, fmt.Errorf("url: delimiter %q: want newline or document", cfg.Delimiter)
	}
	return cfg, nil
}

// firstDocument connects and returns the first document that parses
// within the timeout; the error names the last one that did not.
func firstDocument(ctx context.Context, cfg *Config, addr string) (docpath.Doc, error) {
	d := net.Dialer{Timeout: cfg.Timeout.D()}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.SetReadDeadline(time.Now().Add(cfg.Timeout.D())); err != nil {
		return nil, err
	}
	fr := newFramer(conn, cfg.delimiter(), cfg.Format, cfg.MaxDocument)
	var lastErr error
	for {
		data, err := fr.next()
		switch {
		case errors.Is(err, errOversized):
			lastErr = err
			continue
		case err != nil:
			if lastErr != nil {
				err = fmt.Errorf("%w (before: %v)", err, lastErr)
			}
			return nil, fmt.Errorf("socket %s: %w", addr, err)
		}
		doc, err := docpath.Parse(cfg.Format, data)
		if err == nil {
			return doc, nil
		}
		lastErr = err
	}
}

// lookup finds a path in the document; Raw is the value as JSON.
func lookup(doc docpath.Doc, path string) (string, any, error) {
	v, err := doc.Get(path)
	if err != nil {
		return "", nil, err
	}
	b, _ := json.Marshal(v)
	return string(b), v, nil
}
