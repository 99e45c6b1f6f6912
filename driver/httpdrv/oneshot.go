package httpdrv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/docpath"
	"github.com/gridbox/gridbox/model"
)

// SpecSyntax describes the URL and SPEC forms ReadOnce accepts.
const SpecSyntax = `  URL   http(s)://host[:port]/path — with --profile the device's base URL (http://192.168.1.30)
  SPEC  a path into the answer: JSON Body.Data.Site.P_PV, XML Envelope/Body/Result/Heat, or a key
        (format from --profile, else from the answer's first character: { or [ JSON, < XML, else key=value);
        a per-meter profile (ambus-net) reads the meter given as ?unit=ID in the URL or --unit N`

// OneShot returns the HTTP driver's one-shot read (`gridbox read`): one
// request, every spec and profile datapoint taken from its answer.
func OneShot() driver.OneShot { return oneShot{} }

type oneShot struct{}

// ReadOnce implements driver.OneShot.
func (oneShot) ReadOnce(ctx context.Context, req driver.ReadRequest) (iter.Seq[driver.Reading], error) {
	if err := checkURL(req.URL); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	cfg := NewConfig()
	cfg.URL, cfg.Profile = req.URL, req.Profile
	if req.Timeout > 0 {
		cfg.Timeout = config.Duration(req.Timeout)
	}
	var prof *Profile
	if req.Profile != "" {
		p, errs := loadProfile(req.Profile, req.Profiles)
		if len(errs) > 0 {
			return nil, fmt.Errorf("%v", errs[0].Msg)
		}
		prof = p
	}
	if prof != nil && prof.PerUnit {
		if err := meterFromURL(cfg); err != nil {
			return nil, err
		}
	}
	if req.Unit != nil {
		cfg.Units = []string{strconv.Itoa(*req.Unit)}
	}
	if prof != nil && prof.PerUnit && len(cfg.Units) == 0 {
		return nil, fmt.Errorf("profile %s reads one meter per request: give its id as ?unit=ID in the URL or --unit", prof.Name)
	}
	for _, s := range req.Specs {
		if err := docpath.CheckPath(docpath.JSON, s); err != nil {
			return nil, fmt.Errorf("spec %q: %w", s, err)
		}
	}
	t, errs := resolve(cfg, prof)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s", errs[0].Path, errs[0].Msg)
	}
	var fields []*field
	if prof != nil {
		fields, _ = compilePoints(prof.Points, nil, prof.Format, "datapoints")
	}
	client := &http.Client{Timeout: cfg.Timeout.D()}
	return func(yield func(driver.Reading) bool) {
		defer client.CloseIdleConnections()
		unit := ""
		if len(t.units) > 0 {
			unit = t.units[0]
		}
		for _, r := range readOnce(ctx, client, t, unit, fields, req.Specs) {
			if !yield(r) {
				return
			}
		}
	}, nil
}

// meterFromURL moves a ?unit=ID of the base URL into cfg.Units.
func meterFromURL(cfg *Config) error {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	q := u.Query()
	if id := q.Get("unit"); id != "" {
		cfg.Units = []string{id}
		q.Del("unit")
		u.RawQuery = q.Encode()
		cfg.URL = u.String()
	}
	return nil
}

// readOnce sends one request and takes every reading from its answer.
func readOnce(ctx context.Context, c *http.Client, t *target, unit string, fields []*field, specs []string) []driver.Reading {
	if t.format == "" {
		t.format = "sniff"
	}
	var out []driver.Reading
	doc, err := readSniffed(ctx, c, t, unit)
	for _, f := range fields {
		r := driver.Reading{Name: f.name, Unit: f.Unit, Err: err}
		if err == nil {
			r.Raw, r.Value, r.Err = lookup(doc, f.Path, f.Format, f.Scale, f.Offset)
		}
		out = append(out, r)
	}
	for _, s := range specs {
		r := driver.Reading{Name: s, Err: err}
		if err == nil {
			r.Raw, r.Value, r.Err = lookup(doc, s, "", 1, 0)
		}
		out = append(out, r)
	}
	return out
}

// readSniffed reads the answer, guessing its format when none is set.
func readSniffed(ctx context.Context, c *http.Client, t *target, unit string) (docpath.Doc, error) {
	if t.format != "sniff" {
		doc, _, err := t.read(ctx, c, unit)
		return doc, err
	}
	t.format = docpath.KeyValue // parse nothing yet: fetch raw, then sniff
	u, err := render(t.url, tmplData{Unit: unit})
	if err != nil {
		return nil, err
	}
	body, err := render(t.body, tmplData{Unit: unit})
	if err != nil {
		return nil, err
	}
	data, err := exchange(ctx, c, t.method, u, t.headers, t.auth, body, t.maxBody)
	if err != nil {
		return nil, err
	}
	return docpath.Parse(sniff(data), data)
}

// sniff guesses an answer's format from its first character.
func sniff(data []byte) string {
	b := bytes.TrimSpace(data)
	switch {
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return docpath.JSON
	case len(b) > 0 && b[0] == '<':
		return docpath.XML
	}
	return docpath.KeyValue
}

// lookup finds path in doc: Raw is the value as the device sent it (JSON).
// format "" keeps the value as found.
func lookup(doc docpath.Doc, path string, format model.Format, scale, offset float64) (string, any, error) {
	raw, err := doc.Get(path)
	if err != nil {
		return "", nil, err
	}
	b, _ := json.Marshal(raw)
	if format == "" {
		return string(b), raw, nil
	}
	v, err := docpath.Convert(raw, format, scale, offset)
	return string(b), v, err
}
