package knx

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/vapourismo/knx-go/knx/cemi"
)

// SpecSyntax describes the URL and SPEC forms ReadOnce accepts, for the
// help text of `gridbox read`.
const SpecSyntax = `  URL   udp://gateway:3671 (KNX/IP tunnelling; pick with --driver knx)
  SPEC  GA:DPT, GA 1/2/3 (or 1/234, 2345), DPT like 1.001, 5.001, 9.001, 13.013, 16.000
        e.g. 1/2/3:9.001  0/0/1:1.001  2/3/111:DPST-3-7`

// OneShot returns the KNX driver's one-shot read (`gridbox read --driver
// knx`): it opens a tunnel, sends a group read for each spec or profile
// group address and waits up to the timeout for the response.
func OneShot() driver.OneShot { return oneShot{dial: dial} }

type oneShot struct{ dial dialer }

// ReadOnce implements driver.OneShot.
func (o oneShot) ReadOnce(ctx context.Context, req driver.ReadRequest) (iter.Seq[driver.Reading], error) {
	if req.Unit != nil {
		return nil, errors.New("--unit: KNX has no unit id; name group addresses in the specs")
	}
	cfg := NewConfig()
	addr, err := parseURL(req.URL, cfg.Mode)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if req.Timeout > 0 {
		cfg.Timeout = config.Duration(req.Timeout)
	}
	points, err := readPoints(req)
	if err != nil {
		return nil, err
	}
	return func(yield func(driver.Reading) bool) {
		l, err := o.dial(ctx, addr, cfg)
		if err != nil {
			for _, p := range points {
				if !yield(driver.Reading{Name: p.name, Err: err}) {
					return
				}
			}
			return
		}
		defer l.Close()
		for _, p := range points {
			r := readOne(ctx, l, p, cfg.Timeout.D())
			if !yield(r) || (r.Err != nil && ctx.Err() != nil) {
				return
			}
		}
	}, nil
}

// readPoints compiles the profile's group addresses and the specs.
func readPoints(req driver.ReadRequest) ([]*point, error) {
	var dps []Datapoint
	if req.Profile != "" {
		c := Config{Profile: req.Profile}
		p, errs := c.loadProfile(req.Profiles)
		if len(errs) > 0 {
			return nil, config.Errors(errs)
		}
		dps = p
	}
	for i, s := range req.Specs {
		ga, dpt, ok := strings.Cut(s, ":")
		if !ok {
			return nil, fmt.Errorf("spec %q: want GA:DPT like 1/2/3:9.001", s)
		}
		dps = append(dps, Datapoint{Name: fmt.Sprintf("spec-%d", i), GA: ga, DPT: dpt})
	}
	points, errs := compile(dps, "spec")
	if len(errs) > 0 {
		return nil, fmt.Errorf("%v", config.Errors(errs))
	}
	for i := len(points) - len(req.Specs); i < len(points); i++ {
		points[i].name = req.Specs[i-(len(points)-len(req.Specs))]
	}
	if len(points) == 0 {
		return nil, errors.New("nothing to read: give GA:DPT specs or --profile")
	}
	return points, nil
}

// readOne sends a group read to p's group address and waits for the first
// response or write to it.
func readOne(ctx context.Context, l link, p *point, timeout time.Duration) driver.Reading {
	r := driver.Reading{Name: p.name, Unit: p.meta.Unit}
	if err := l.Send(groupTelegram(cemi.GroupValueRead, p.ga, nil)); err != nil {
		r.Err = fmt.Errorf("group read %s: %w", GAString(p.ga), err)
		return r
	}
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	for {
		select {
		case <-ctx.Done():
			r.Err = ctx.Err()
			return r
		case <-tm.C:
			r.Err = fmt.Errorf("no answer from %s within %s", GAString(p.ga), timeout)
			return r
		case m, ok := <-l.Inbound():
			if !ok {
				r.Err = errors.New("tunnel lost")
				return r
			}
			t, ok := groupTelegramOf(m)
			if !ok || t.ga != p.ga || (t.cmd != cemi.GroupValueResponse && t.cmd != cemi.GroupValueWrite) {
				continue
			}
			r.Raw = Raw(t.data)
			r.Value, r.Err = p.dpt.Decode(t.data)
			return r
		}
	}
}
