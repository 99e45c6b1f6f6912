package knx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
	"github.com/vapourismo/knx-go/knx/cemi"
)

// Device is one KNX/IP connection with its datapoints. It implements
// driver.Device and bus.Writer.
type Device struct {
	id     string
	cfg    *Config
	addr   string
	points []*point
	byName map[string]*point
	byGA   map[cemi.GroupAddr][]*point
	dial   dialer
	log    *slog.Logger
	m      devMetrics

	mu   sync.Mutex
	link link        // the current link; nil while disconnected
	sink driver.Sink // the sink given to Run
	bad  map[string]string
}

func newDevice(cfg *Config, addr string, points []*point, dial dialer, log *slog.Logger) *Device {
	d := &Device{id: cfg.ID, cfg: cfg, addr: addr, points: points, dial: dial, log: log,
		byName: map[string]*point{}, byGA: map[cemi.GroupAddr][]*point{}, bad: map[string]string{}}
	for _, p := range points {
		d.byName[p.name] = p
		d.byGA[p.ga] = append(d.byGA[p.ga], p)
	}
	return d
}

// Datapoints lists the device's datapoints.
func (d *Device) Datapoints() []model.Datapoint {
	out := make([]model.Datapoint, 0, len(d.points))
	for _, p := range d.points {
		out = append(out, model.Datapoint{Device: d.id, Name: p.name, Meta: p.meta})
	}
	return out
}

// Run connects, asks for every group address's value when configured, and
// publishes the values of group telegrams until ctx is done. A lost link
// marks the values stale and the device offline; Run reconnects with a
// doubling backoff.
func (d *Device) Run(ctx context.Context, out driver.Sink) error {
	d.mu.Lock()
	d.sink = out
	d.mu.Unlock()
	for fails := 0; ; {
		l, err := d.dial(ctx, d.addr, d.cfg)
		if ctx.Err() != nil {
			if l != nil {
				l.Close()
			}
			return nil
		}
		if err == nil {
			fails = 0
			d.log.Info("knx connected", "url", d.cfg.URL, "mode", d.cfg.Mode)
			out.SetState(model.DeviceState{Device: d.id, Online: true, LastSeen: model.NowMs()}, 0, 0)
			err = d.serve(ctx, l, out)
			if ctx.Err() != nil {
				return nil
			}
		}
		fails++
		d.m.error("link")
		if fails == 1 { // once per outage; retries at debug level
			d.log.Warn("knx link down", "url", d.cfg.URL, "err", err)
		} else {
			d.log.Debug("knx reconnect failed", "url", d.cfg.URL, "attempt", fails, "err", err)
		}
		out.MarkStale(d.id, model.NowMs())
		out.SetState(model.DeviceState{Device: d.id, Online: false, Error: err.Error()}, 0, 1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d.backoff(fails)):
		}
	}
}

// backoff is the delay before reconnect attempt n (1-based).
func (d *Device) backoff(n int) time.Duration {
	b := d.cfg.Backoff.D()
	for i := 1; i < n && b < maxBackoff; i++ {
		b *= 2
	}
	return min(b, maxBackoff)
}

// serve handles l's telegrams until l is lost or ctx is done; it closes l.
func (d *Device) serve(ctx context.Context, l link, out driver.Sink) error {
	d.setLink(l)
	var wg sync.WaitGroup
	rctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		wg.Wait()
		d.setLink(nil)
		l.Close()
	}()
	if d.cfg.ReadAtStart {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.readAll(rctx, l)
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-l.Inbound():
			if !ok {
				return errors.New("tunnel lost")
			}
			if t, ok := groupTelegramOf(m); ok {
				d.handle(t, out)
			}
		}
	}
}

func (d *Device) setLink(l link) {
	d.mu.Lock()
	d.link = l
	d.mu.Unlock()
}

// readAll sends a group read to every distinct group address.
func (d *Device) readAll(ctx context.Context, l link) {
	seen := map[cemi.GroupAddr]bool{}
	for _, p := range d.points {
		if seen[p.ga] || ctx.Err() != nil {
			continue
		}
		seen[p.ga] = true
		if err := l.Send(groupTelegram(cemi.GroupValueRead, p.ga, nil)); err != nil {
			d.m.error("send")
			d.log.Warn("knx read request failed", "datapoint", p.name, "ga", GAString(p.ga), "err", err)
			return
		}
	}
}

// handle publishes the values of a group write or response.
func (d *Device) handle(t telegram, out driver.Sink) {
	if t.cmd != cemi.GroupValueWrite && t.cmd != cemi.GroupValueResponse {
		return
	}
	pts := d.byGA[t.ga]
	if len(pts) == 0 {
		return
	}
	d.m.telegram()
	now := model.NowMs()
	vals := make([]model.Value, 0, len(pts))
	var bad error
	for _, p := range pts {
		v, err := p.dpt.Decode(t.data)
		q := model.Good
		if err != nil {
			bad = fmt.Errorf("%s (%s): %w (data %s)", p.name, GAString(t.ga), err, Raw(t.data))
			d.noteBad(p.name, bad)
			v, q = nil, model.Bad
		}
		vals = append(vals, model.Value{Device: d.id, Name: p.name, Value: v, Time: now, Quality: q})
	}
	out.Publish(vals...)
	st := model.DeviceState{Device: d.id, Online: true, LastSeen: now}
	var errs uint64
	if bad != nil {
		st.Error, errs = bad.Error(), 1
	}
	out.SetState(st, 1, errs)
}

// noteBad counts a decode error and logs it once per datapoint and message.
func (d *Device) noteBad(name string, err error) {
	d.m.error("decode")
	d.mu.Lock()
	changed := d.bad[name] != err.Error()
	d.bad[name] = err.Error()
	d.mu.Unlock()
	if changed {
		d.log.Warn("knx telegram not decodable", "datapoint", name, "err", err)
	}
}

// Write sends a group write of the value to the datapoint's group address
// and returns the value the group now holds (the written value as its DPT
// encodes it: 5.001 rounds to 1/255 steps). The next telegram on the group
// address, like an actuator's status response, updates it.
func (d *Device) Write(_ context.Context, name string, v any) (any, error) {
	p, ok := d.byName[name]
	switch {
	case !ok:
		return nil, fmt.Errorf("knx %s: unknown datapoint %q", d.id, name)
	case p.meta.Kind != model.Actuator:
		return nil, model.ErrNotWritable
	}
	data, err := p.dpt.Encode(v)
	if err != nil {
		return nil, fmt.Errorf("knx %s: %s: %w", d.id, name, err)
	}
	d.mu.Lock()
	l, sink := d.link, d.sink
	d.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("knx %s: %s: not connected to %s", d.id, name, d.cfg.URL)
	}
	if err := l.Send(groupTelegram(cemi.GroupValueWrite, p.ga, data)); err != nil {
		d.m.error("send")
		d.log.Warn("knx write failed", "datapoint", name, "ga", GAString(p.ga), "err", err)
		return nil, fmt.Errorf("knx %s: %s: group write to %s: %w", d.id, name, GAString(p.ga), err)
	}
	got, err := p.dpt.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("knx %s: %s: %w", d.id, name, err)
	}
	if sink != nil {
		d.handle(telegram{cmd: cemi.GroupValueWrite, ga: p.ga, data: data}, sink)
	}
	return got, nil
}
