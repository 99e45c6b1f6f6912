package sunspec

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"strings"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
)

// SpecSyntax describes the URL and SPEC forms ReadOnce accepts, for the
// help text of `gridbox read`.
const SpecSyntax = `  URL   tcp://host:port[?unit=N], rtuovertcp://host:port (SunSpec marker found at 40000, 50000, 0, ±1)
  SPEC  datapoint names to print (default: every one), like ac_power or device_2/ac_power;
        the marker and the models found are printed first: "model ID  [ADDRESS] L=LENGTH = NAME"`

// oneShotID is the id of the first logical device in one-shot reads.
const oneShotID = "device"

// OneShot returns the SunSpec driver's one-shot read (`gridbox read
// --driver sunspec URL`): it discovers the model chain, prints each model
// with its address and reads every datapoint once.
func OneShot() driver.OneShot { return oneShot{} }

type oneShot struct{}

// ReadOnce implements driver.OneShot.
func (oneShot) ReadOnce(ctx context.Context, req driver.ReadRequest) (iter.Seq[driver.Reading], error) {
	t, err := parseURL(req.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if req.Profile != "" {
		return nil, fmt.Errorf("--profile: the sunspec driver discovers its datapoints and takes no profile")
	}
	for _, s := range req.Specs {
		_, name, _ := strings.Cut(s, "/")
		if !model.ValidID(name) && !model.ValidID(s) {
			return nil, fmt.Errorf("spec %q: want a datapoint name like ac_power or device_2/ac_power", s)
		}
	}
	unit := 1
	switch {
	case req.Unit != nil:
		if *req.Unit < 0 || *req.Unit > 255 {
			return nil, fmt.Errorf("unit %d is out of 0..255", *req.Unit)
		}
		unit = *req.Unit
	case t.unit >= 0:
		unit = t.unit
	}
	cfg := NewConfig()
	cfg.ID, cfg.URL, cfg.Unit, cfg.Retries = oneShotID, req.URL, &unit, 0
	if req.Timeout > 0 {
		cfg.Timeout = config.Duration(req.Timeout)
	}
	return func(yield func(driver.Reading) bool) {
		var cs conns
		defer cs.close()
		d := newDevice(cfg, cs.get(t.url, cfg.Timeout.D()), nil, slog.New(slog.DiscardHandler))
		d.mu.Lock()
		defer d.mu.Unlock()
		readOnce(ctx, d, req.Specs, yield)
	}, nil
}

// readOnce discovers, yields the models, polls once and yields the datapoints.
func readOnce(ctx context.Context, d *Device, specs []string, yield func(driver.Reading) bool) {
	if err := d.discover(ctx); err != nil {
		yield(driver.Reading{Name: "discovery", Err: err})
		return
	}
	for _, l := range d.layouts {
		base := driver.Reading{Name: fmt.Sprintf("unit %d marker", l.Unit), Raw: fmt.Sprintf("[%d] 0x%04X 0x%04X", l.Base, markerHi, markerLo), Value: "SunS"}
		if !yield(base) {
			return
		}
		for _, m := range l.Models {
			r := driver.Reading{Name: fmt.Sprintf("model %d", m.ID), Raw: fmt.Sprintf("[%d] L=%d", m.Addr, m.Len), Value: "(not decoded)"}
			if m.def != nil {
				r.Value = m.def.Name
			}
			if !yield(r) {
				return
			}
		}
	}
	if _, _, err := d.poll(ctx); err != nil {
		yield(driver.Reading{Name: "poll", Err: err})
		return
	}
	found := map[string]bool{}
	for _, lg := range d.logical {
		for _, dp := range lg.points {
			key := lg.id + "/" + dp.Name
			if len(specs) > 0 && !matches(specs, key, dp.Name, found) {
				continue
			}
			if !yield(oneReading(d.im[lg.unit], key, dp)) {
				return
			}
		}
	}
	for _, s := range specs {
		if !found[s] && !yield(driver.Reading{Name: s, Err: fmt.Errorf("no datapoint %s on this device", s)}) {
			return
		}
	}
}

// matches reports whether a spec names the datapoint (by name on any
// logical device, or as device/name) and notes the specs that matched.
func matches(specs []string, key, name string, found map[string]bool) bool {
	for _, s := range specs {
		if s == key || s == name {
			found[s] = true
			return true
		}
	}
	return false
}

func oneReading(im image, key string, dp *dpoint) driver.Reading {
	r := driver.Reading{Name: key, Unit: dp.Unit}
	regs, _ := im.get(dp.addr, dp.p.Size)
	hex := make([]string, len(regs))
	for i, w := range regs {
		hex[i] = fmt.Sprintf("0x%04X", w)
	}
	r.Raw = fmt.Sprintf("[%d] %s", dp.addr, strings.Join(hex, " "))
	r.Value, r.Err = dp.value(im)
	return r
}
