package httpdrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/docpath"
	"github.com/gridbox/gridbox/model"
)

// Device is one HTTP device. It implements driver.Device and bus.Writer.
type Device struct {
	ts     driver.Stamps // value timestamps, strictly later poll after poll
	id     string
	cfg    *Config
	t      *target
	fields []*field
	byName map[string]*field
	client *http.Client
	log    *slog.Logger
	m      devMetrics

	reqMu sync.Mutex // one exchange with the device at a time (polls and writes)

	mu      sync.Mutex
	sink    driver.Sink // the sink given to Run, for read-back values
	lastErr string      // last error logged (each new one is logged once)
}

func newDevice(cfg *Config, t *target, fields []*field, client *http.Client) *Device {
	d := &Device{id: cfg.ID, cfg: cfg, t: t, fields: fields, client: client, byName: map[string]*field{},
		log: slog.New(slog.DiscardHandler)}
	for _, f := range fields {
		d.byName[f.name] = f
	}
	return d
}

// Datapoints lists the device's datapoints.
func (d *Device) Datapoints() []model.Datapoint {
	out := make([]model.Datapoint, 0, len(d.fields))
	for _, f := range d.fields {
		p := f.datapoint()
		p.Device = d.id
		out = append(out, p)
	}
	return out
}

// Run polls the device every interval until ctx is done.
func (d *Device) Run(ctx context.Context, out driver.Sink) error {
	d.mu.Lock()
	d.sink = out
	d.mu.Unlock()
	t := time.NewTicker(d.cfg.Interval.D())
	defer t.Stop()
	for {
		d.poll(ctx, out)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// poll reads every unit once and reports values and state; it returns the
// values it published.
func (d *Device) poll(ctx context.Context, out driver.Sink) []model.Value {
	d.reqMu.Lock()
	d.ts.Begin()
	vals, errs, reached := d.readAll(ctx)
	d.reqMu.Unlock()
	if ctx.Err() != nil {
		return nil
	}
	now := d.ts.Now()
	err := errors.Join(errs...)
	if reached == 0 {
		out.MarkStale(d.id, now)
		out.SetState(model.DeviceState{Device: d.id, Online: false, Error: err.Error()}, 1, uint64(len(errs)))
		d.logErr(err)
		return nil
	}
	out.Publish(vals...)
	st := model.DeviceState{Device: d.id, Online: true, LastSeen: now}
	if err != nil {
		st.Error = err.Error()
	}
	out.SetState(st, 1, uint64(len(errs)))
	d.logErr(err)
	return vals
}

// logErr logs an error once until it changes, and the recovery.
func (d *Device) logErr(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	d.mu.Lock()
	changed := msg != d.lastErr
	d.lastErr = msg
	d.mu.Unlock()
	switch {
	case changed && err != nil:
		d.log.Warn("http device error", "url", redact(d.cfg.URL), "err", err)
	case changed:
		d.log.Info("http device answers again", "url", redact(d.cfg.URL))
	}
}

// readAll reads each unit (once without units), pausing between requests.
// reached counts the units that answered with a document.
func (d *Device) readAll(ctx context.Context) (vals []model.Value, errs []error, reached int) {
	units := d.t.units
	if len(units) == 0 {
		units = []string{""}
	}
	for i, unit := range units {
		if i > 0 && !sleep(ctx, d.t.pause) {
			return nil, errs, 0
		}
		v, uerrs, ok := d.readUnit(ctx, unit)
		vals, errs = append(vals, v...), append(errs, uerrs...)
		if ok {
			reached++
		}
	}
	return vals, errs, reached
}

// readUnit reads one unit's answer into its fields' values. ok is false
// when there was no parsable answer; its fields are then bad.
func (d *Device) readUnit(ctx context.Context, unit string) (vals []model.Value, errs []error, ok bool) {
	d.m.request()
	doc, _, err := d.t.read(ctx, d.client, unit)
	now := d.ts.Now()
	if err != nil {
		if ctx.Err() == nil {
			d.m.error(errKind(err))
		}
		if unit != "" {
			err = fmt.Errorf("unit %s: %w", unit, err)
		}
		for _, f := range d.fields {
			if f.unit == unit {
				vals = append(vals, d.value(f, nil, model.Bad, now))
			}
		}
		return vals, []error{err}, false
	}
	fields, missing := 0, 0
	for _, f := range d.fields {
		if f.unit != unit {
			continue
		}
		fields++
		v, err := d.extract(doc, f)
		switch {
		case errors.Is(err, docpath.ErrMissing):
			missing++
			vals = append(vals, d.value(f, nil, model.Good, now))
		case err != nil:
			errs = append(errs, err)
			vals = append(vals, d.value(f, nil, model.Bad, now))
		default:
			vals = append(vals, d.value(f, v, model.Good, now))
		}
	}
	if fields > 0 && missing == fields {
		err := fmt.Errorf("none of the %d datapoint paths is in the answer: wrong paths or a different answer", fields)
		if unit != "" {
			err = fmt.Errorf("unit %s: %w", unit, err)
		}
		errs = append(errs, err)
	}
	return vals, errs, true
}

// extract finds f's value in doc. A missing path (docpath.ErrMissing) is
// counted; the caller publishes null, since devices leave out what they do
// not have. A wrong type is an error.
func (d *Device) extract(doc docpath.Doc, f *field) (any, error) {
	raw, err := doc.Get(f.Path)
	if errors.Is(err, docpath.ErrMissing) {
		d.m.error("missing")
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	v, err := docpath.Convert(raw, f.Format, f.Scale, f.Offset)
	if err != nil {
		d.m.error("type")
		return nil, fmt.Errorf("%s (%s): %w", f.name, f.Path, err)
	}
	return v, nil
}

func (d *Device) value(f *field, v any, q model.Quality, at int64) model.Value {
	return model.Value{Device: d.id, Name: f.name, Value: v, Time: at, Quality: q}
}

// formatValue renders a written value for {{.Value}}: numbers without
// exponent or trailing zeros, bools as 1 and 0, text as is.
func formatValue(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(v)
}
