package keba

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/gridbox/gridbox/driver"
)

// SpecSyntax is the URL and SPEC form of `gridbox read --driver keba`.
const SpecSyntax = `  URL   udp://host:7090[?listen=:7090]   (KEBA P30: --driver keba; answers come to the listen port)
  SPEC  a datapoint name: power, state, max_current, energy_total, ...; none: every value of reports 1-3`

// OneShot returns the driver's one-shot read for `gridbox read`.
func OneShot() driver.OneShot { return oneShot{} }

type oneShot struct{}

// ReadOnce reads reports 1, 2 and 3 (those the specs need) once.
func (oneShot) ReadOnce(ctx context.Context, req driver.ReadRequest) (iter.Seq[driver.Reading], error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	listen := DefaultListen
	if q := u.Query(); q.Has("listen") {
		listen = q.Get("listen")
	}
	u.RawQuery = ""
	hostport, err := parseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	switch {
	case req.Unit != nil:
		return nil, errors.New("keba: a station has no unit id")
	case req.Profile != "":
		return nil, errors.New("keba: the station's datapoints are built in; give datapoint names, not --profile")
	}
	var want []*point
	for _, s := range req.Specs {
		p, ok := findPoint(s)
		if !ok || p.report == 0 {
			return nil, fmt.Errorf("keba: %q is not a datapoint the station reports", s)
		}
		want = append(want, p)
	}
	if len(want) == 0 {
		for i := range points {
			if points[i].report != 0 {
				want = append(want, &points[i])
			}
		}
	}
	timeout := DefaultTimeout
	if req.Timeout > 0 {
		timeout = req.Timeout
	}
	return func(yield func(driver.Reading) bool) {
		readOnce(ctx, hostport, listen, timeout, want, yield)
	}, nil
}

// readOnce joins a private port, reads the reports want needs and yields one
// reading per point.
func readOnce(ctx context.Context, hostport, listen string, timeout time.Duration, want []*point, yield func(driver.Reading) bool) {
	fail := func(err error) {
		for _, p := range want {
			if !yield(driver.Reading{Name: p.name, Unit: p.meta.Unit, Err: err}) {
				return
			}
		}
	}
	addr, err := resolve(ctx, hostport)
	if err != nil {
		fail(err)
		return
	}
	ps := &ports{byKey: map[string]*port{}, log: slog.New(slog.DiscardHandler)}
	p, in, err := ps.join(listen, addr)
	if err != nil {
		fail(err)
		return
	}
	defer ps.leave(listen, addr)
	var bad error
	st := &station{addr: addr, port: p, in: in, timeout: timeout, gap: DefaultGap,
		bad: func(kind string, err error) { bad = fmt.Errorf("malformed answer (%s): %w", kind, err) }}
	reports := map[int]map[string]any{}
	errs := map[int]error{}
	for _, w := range want {
		n := w.report
		if _, done := reports[n]; done || errs[n] != nil {
			continue
		}
		m, err := st.report(ctx, n)
		if err != nil && bad != nil {
			err = fmt.Errorf("%w (%v)", err, bad)
		}
		reports[n], errs[n] = m, err
	}
	for _, w := range slices.Clone(want) {
		r := driver.Reading{Name: w.name, Unit: w.meta.Unit, Err: errs[w.report]}
		if raw, ok := reports[w.report][w.key]; ok {
			b, _ := json.Marshal(raw)
			r.Raw = fmt.Sprintf("report %d %q: %s", w.report, w.key, b)
			r.Value, r.Err = w.decode(raw)
		} else if r.Err == nil {
			r.Err = fmt.Errorf("report %d has no %q", w.report, w.key)
		}
		if !yield(r) {
			return
		}
	}
}
