package keba

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
)

// Run joins the local port and polls until ctx is done.
func (d *Device) Run(ctx context.Context, out driver.Sink) error {
	d.mu.Lock()
	d.sink, d.state.Device = out, d.cfg.ID
	d.mu.Unlock()
	st := d.join(ctx, out)
	if st == nil {
		return nil
	}
	defer d.ports.leave(d.cfg.Listen, st.addr)
	t := time.NewTicker(d.cfg.Interval.D())
	defer t.Stop()
	for {
		d.poll(ctx, st, out)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// join resolves the station and joins the shared port, retrying every
// interval; nil when ctx ended first.
func (d *Device) join(ctx context.Context, out driver.Sink) *station {
	for {
		addr, err := resolve(ctx, d.hostport)
		if err == nil {
			var p *port
			var in chan datagram
			if p, in, err = d.ports.join(d.cfg.Listen, addr); err == nil {
				st := &station{addr: addr, port: p, in: in, timeout: d.cfg.Timeout.D(), gap: d.cfg.Gap.D(), bad: d.malformed}
				d.mu.Lock()
				d.st = st
				d.mu.Unlock()
				return st
			}
		}
		d.log.Warn("keba: cannot reach the station", "url", d.cfg.URL, "listen", d.cfg.Listen, "err", err)
		out.SetState(model.DeviceState{Device: d.cfg.ID, Error: err.Error()}, 1, 1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d.cfg.Interval.D()):
		}
	}
}

// poll reads reports 1, 2 and 3 and publishes what they hold.
func (d *Device) poll(ctx context.Context, st *station, out driver.Sink) {
	var vals []model.Value
	var errs []error
	d.ts.Begin()
	now := d.ts.Now()
	for n := 1; n <= 3; n++ {
		m, err := st.report(ctx, n)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("report %d: %w", n, err))
			continue
		}
		vals = append(vals, d.decode(n, m, now)...)
	}
	if len(vals) > 0 {
		out.Publish(vals...)
	}
	d.settle(errs, out)
}

// decode turns one report into values; fields of the wrong type are counted.
func (d *Device) decode(n int, m map[string]any, now int64) []model.Value {
	var out []model.Value
	for i := range points {
		p := &points[i]
		raw, ok := m[p.key]
		if p.report != n || !ok {
			continue
		}
		v, err := p.decode(raw)
		if err != nil {
			d.malformed("type", err)
			continue
		}
		out = append(out, model.Value{Device: d.cfg.ID, Name: p.name, Value: v, Time: now, Quality: model.Good})
	}
	return out
}

// settle reports the state after a poll: offline after OfflineAfter
// consecutive timeouts, online as soon as a report arrives.
func (d *Device) settle(errs []error, out driver.Sink) {
	d.mu.Lock()
	answered := len(errs) < 3
	if answered {
		d.timeouts = 0
		d.state.Online, d.state.LastSeen = true, model.NowMs()
	}
	for _, err := range errs {
		if errors.Is(err, errTimeout) {
			d.timeouts++
		}
	}
	goneNow := d.timeouts >= OfflineAfter && d.state.Online
	if d.timeouts >= OfflineAfter {
		d.state.Online = false
	}
	d.state.Error = ""
	if len(errs) > 0 {
		d.state.Error = errors.Join(errs...).Error()
	}
	st := d.state
	d.mu.Unlock()
	if goneNow {
		d.log.Warn("keba station offline", "url", d.cfg.URL, "timeouts", OfflineAfter)
		out.MarkStale(d.cfg.ID, model.NowMs())
	}
	out.SetState(st, 1, uint64(min(len(errs), 1)))
}

// malformed counts a malformed answer and shows it in $state.
func (d *Device) malformed(kind string, err error) {
	d.bad.Add(kind)
	d.log.Warn("keba: malformed answer", "kind", kind, "err", err)
	d.mu.Lock()
	d.state.Error = fmt.Sprintf("malformed (%s, %d so far): %v", kind, d.bad.Total(), err)
	st, out := d.state, d.sink
	d.mu.Unlock()
	if out != nil {
		out.SetState(st, 0, 1)
	}
}

// Write sends the datapoint's command and waits for TCH-OK.
func (d *Device) Write(ctx context.Context, name string, v any) (any, error) {
	p, ok := findPoint(name)
	if !ok || p.meta.Kind != model.Actuator {
		return nil, fmt.Errorf("keba: %q is not writable", name)
	}
	cmd, err := p.command(v)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	st := d.st
	d.mu.Unlock()
	if st == nil {
		return nil, fmt.Errorf("keba: station %s not joined yet", d.cfg.URL)
	}
	if err := st.command(ctx, cmd); err != nil {
		return nil, fmt.Errorf("keba %s: %w", cmd, err)
	}
	return v, nil // the station answers TCH-OK only; report 2 shows the effect on the next poll
}
