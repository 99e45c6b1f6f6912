package socket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/docpath"
	"github.com/gridbox/gridbox/model"
)

// Device is one socket device. It implements driver.Device.
type Device struct {
	ts     driver.Stamps // value timestamps, strictly later document after document
	cfg    *Config
	addr   string
	points []Point
	log    *slog.Logger
	m      devMetrics
}

// Datapoints lists the device's datapoints.
func (d *Device) Datapoints() []model.Datapoint {
	out := make([]model.Datapoint, 0, len(d.points))
	for _, p := range d.points {
		out = append(out, model.Datapoint{Device: d.cfg.ID, Name: p.Name, Meta: p.Meta})
	}
	return out
}

// Run connects, reads documents until the connection fails or stays
// silent for the timeout, and reconnects with backoff, until ctx is done.
func (d *Device) Run(ctx context.Context, out driver.Sink) error {
	backoff := d.cfg.Backoff.D()
	for ctx.Err() == nil {
		got, err := d.session(ctx, out)
		if ctx.Err() != nil {
			return nil
		}
		if got {
			backoff = d.cfg.Backoff.D() // the device delivered: start over
		}
		var errs uint64 = 1
		var se *streamError
		switch {
		case errors.As(err, &se):
			errs = 0 // counted as malformed when it was read
		case isTimeout(err):
			d.m.error("timeout")
			err = fmt.Errorf("socket %s: nothing received within %s: reconnecting", d.addr, d.cfg.Timeout.D())
		default:
			d.m.error("io")
		}
		out.MarkStale(d.cfg.ID, model.NowMs())
		out.SetState(model.DeviceState{Device: d.cfg.ID, Online: false, Error: err.Error()}, 0, errs)
		d.log.Warn("socket device offline", "addr", d.addr, "err", err, "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, d.cfg.MaxBackoff.D())
	}
	return nil
}

// session is one connection: it returns whether any document arrived and
// why the connection ended.
func (d *Device) session(ctx context.Context, out driver.Sink) (got bool, err error) {
	dialer := net.Dialer{Timeout: d.cfg.Timeout.D()}
	conn, err := dialer.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return false, fmt.Errorf("socket %s: %w", d.addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	d.m.connect()
	d.log.Info("socket connected", "addr", d.addr)
	fr := newFramer(conn, d.cfg.delimiter(), d.cfg.Format, d.cfg.MaxDocument)
	for {
		if err := conn.SetReadDeadline(time.Now().Add(d.cfg.Timeout.D())); err != nil {
			return got, err
		}
		doc, err := fr.next()
		var se *streamError
		switch {
		case errors.As(err, &se):
			d.bad(se.kind, fmt.Errorf("socket %s: %w", d.addr, err), out)
			return got, fmt.Errorf("socket %s: %w: reconnecting", d.addr, err)
		case errors.Is(err, errOversized):
			d.bad("oversized", fmt.Errorf("socket %s: %w (%d bytes)", d.addr, err, d.cfg.MaxDocument), out)
			continue
		case err != nil:
			return got, fmt.Errorf("socket %s: %w", d.addr, err)
		}
		got = true
		d.handle(doc, out)
	}
}

// handle turns one document into values.
func (d *Device) handle(data []byte, out driver.Sink) {
	d.m.doc()
	parsed, err := docpath.Parse(d.cfg.Format, data)
	if err != nil {
		d.bad("malformed", err, out)
		return
	}
	d.ts.Begin()
	now := d.ts.Now()
	vals := make([]model.Value, 0, len(d.points))
	var errs []error
	missing := 0
	for _, p := range d.points {
		v, q, err := d.extract(parsed, p)
		switch {
		case errors.Is(err, docpath.ErrMissing):
			missing++
		case err != nil:
			errs = append(errs, err)
		}
		vals = append(vals, model.Value{Device: d.cfg.ID, Name: p.Name, Value: v, Time: now, Quality: q})
	}
	if missing == len(d.points) {
		errs = append(errs, fmt.Errorf("none of the %d datapoint paths is in the document: wrong paths or a different document", missing))
	}
	out.Publish(vals...)
	st := model.DeviceState{Device: d.cfg.ID, Online: true, LastSeen: now}
	if err := errors.Join(errs...); err != nil {
		st.Error = err.Error()
	}
	out.SetState(st, 1, uint64(len(errs)))
}

// extract finds one point's value: missing is null with good quality (and
// docpath.ErrMissing, counted), a wrong type is bad.
func (d *Device) extract(doc docpath.Doc, p Point) (any, model.Quality, error) {
	raw, err := doc.Get(p.Path)
	if errors.Is(err, docpath.ErrMissing) {
		d.m.error("missing")
		return nil, model.Good, err
	}
	if err != nil {
		return nil, model.Bad, err
	}
	v, err := docpath.Convert(raw, p.Format, p.Scale, p.Offset)
	if err != nil {
		d.m.error("type")
		return nil, model.Bad, fmt.Errorf("%s (%s): %w", p.Name, p.Path, err)
	}
	return v, model.Good, nil
}

// bad counts a document that was dropped and shows it in the state; the
// device stays online (it is talking, just not sense).
func (d *Device) bad(kind string, err error, out driver.Sink) {
	d.m.error(kind)
	d.log.Warn("socket document dropped", "kind", kind, "err", err)
	out.SetState(model.DeviceState{Device: d.cfg.ID, Online: true, LastSeen: model.NowMs(), Error: err.Error()}, 1, 1)
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// sleep waits d or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
