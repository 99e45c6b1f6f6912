package bus

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gridbox/gridbox/model"
)

// SourceWatchdog is the audit source of the watchdog's re-sends and fallbacks.
const SourceWatchdog = "watchdog"

// dogState is the watchdog of one datapoint after its first write.
type dogState struct {
	device, name string
	cfg          model.Watchdog
	value        any       // value to keep on the device
	heard        time.Time // last write (or unchanged repeat) from the source
	sent         time.Time // last write that reached the device
	fellBack     bool      // the fallback is written; wait for the source
}

// resendKey marks a re-send of the watchdog, dogKey every write of it.
type (
	resendKey struct{}
	dogKey    struct{}
)

// due returns when the watchdog has something to do.
func (d *dogState) due() time.Time {
	t := d.sent.Add(d.cfg.Every.D())
	if to := d.cfg.SourceTimeout.D(); to > 0 && !d.fellBack {
		if f := d.heard.Add(to); f.After(d.sent) && f.Before(t) { // a failed fallback is retried every `every`
			t = f
		}
	}
	return t
}

// heard records a write of v from a source other than the watchdog: it is
// the value to keep now, and the source is alive.
func (b *Bus) heard(meta model.Datapoint, v any, applied bool) {
	if meta.Watchdog == nil {
		return
	}
	s := b.safe(meta.Key())
	now := time.Now()
	s.mu.Lock()
	if s.dog == nil {
		if !applied {
			s.mu.Unlock()
			return
		}
		s.dog = &dogState{device: meta.Device, name: meta.Name, cfg: *meta.Watchdog}
	}
	s.dog.heard, s.dog.fellBack = now, false
	if applied {
		s.dog.value, s.dog.sent = v, now
	}
	s.mu.Unlock()
	select {
	case b.dogWake <- struct{}{}:
	default:
	}
}

// RunWatchdogs re-sends the last written value of every datapoint with a
// watchdog every `every` and writes its fallback once when the source of
// the last write has been silent for `source_timeout`, until ctx is done.
// Its writes go through Write with source "watchdog": they are not skipped
// as unchanged (a device that forgets still shows the old value on the bus)
// and not rate limited; a re-send is not read back for protect (the value
// passed the check when its source wrote it), the fallback is.
func (b *Bus) RunWatchdogs(ctx context.Context, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx = context.WithValue(WithSource(ctx, SourceWatchdog), dogKey{}, true)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		next := b.runDue(ctx, log)
		t.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return nil
		case <-b.dogWake:
		case <-t.C:
		}
	}
}

type dogJob struct {
	d        *dogState
	heard    time.Time
	value    any
	fallback bool
}

// runDue does every watchdog write that is due and returns when the next
// one is.
func (b *Bus) runDue(ctx context.Context, log *slog.Logger) time.Time {
	now := time.Now()
	next := now.Add(time.Hour)
	var jobs []dogJob
	b.safeMu.Lock()
	for _, s := range b.safes {
		s.mu.Lock()
		if d := s.dog; d != nil {
			switch due := d.due(); {
			case due.After(now):
				next = minTime(next, due)
			case d.cfg.SourceTimeout > 0 && !d.fellBack && !now.Before(d.heard.Add(d.cfg.SourceTimeout.D())):
				jobs = append(jobs, dogJob{d: d, heard: d.heard, value: d.cfg.Fallback, fallback: true})
				d.sent = now
			default:
				jobs = append(jobs, dogJob{d: d, value: d.value})
				d.sent = now
			}
		}
		s.mu.Unlock()
	}
	b.safeMu.Unlock()
	for _, j := range jobs {
		b.dogWrite(ctx, log, j)
		next = minTime(next, time.Now().Add(j.d.cfg.Every.D()))
	}
	return next
}

// dogWrite does one watchdog write; a fallback that reached the device
// becomes the value to keep.
func (b *Bus) dogWrite(ctx context.Context, log *slog.Logger, j dogJob) {
	wctx := ctx
	if !j.fallback {
		wctx = context.WithValue(ctx, resendKey{}, true)
	}
	_, err := b.Write(wctx, j.d.device, j.d.name, j.value)
	attrs := []any{"device", j.d.device, "datapoint", j.d.name, "value", j.value}
	switch {
	case errors.Is(err, ErrUnknown): // the datapoint was removed: its watchdog ends
		s := b.safe(model.Key(j.d.device, j.d.name))
		s.mu.Lock()
		if s.dog == j.d {
			s.dog = nil
		}
		s.mu.Unlock()
	case err != nil:
		log.Warn("watchdog write failed", append(attrs, "fallback", j.fallback, "err", err)...)
	case j.fallback:
		log.Warn("watchdog: source silent, fallback written", attrs...)
		s := b.safe(model.Key(j.d.device, j.d.name))
		s.mu.Lock()
		if s.dog == j.d && j.d.heard.Equal(j.heard) { // the source has not written since
			j.d.fellBack, j.d.value = true, j.value
		}
		s.mu.Unlock()
	}
}

// resend reports whether ctx is a watchdog re-send of a value already written.
func resend(ctx context.Context) bool { v, _ := ctx.Value(resendKey{}).(bool); return v }

// fromDog reports whether ctx is a write of RunWatchdogs (a source named
// "watchdog" by anyone else gets no exemption).
func fromDog(ctx context.Context) bool { v, _ := ctx.Value(dogKey{}).(bool); return v }

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
