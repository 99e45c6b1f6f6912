package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gridbox/gridbox/model"
)

// Errors returned by Write, distinguishable with errors.Is / errors.As.
var (
	ErrUnknown     = errors.New("unknown datapoint")
	ErrRateLimited = errors.New("rate limited")
	ErrNoWriter    = errors.New("device does not accept writes")
)

// InvalidError is a write the bus refused (unknown datapoint, kind, format,
// limits, no writer, rate limit); it never reached the device. Its text is
// the reason's own.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }

// Unwrap gives the reason (ErrUnknown, ErrRateLimited, ErrNoWriter,
// model.ErrNotWritable, *model.RangeError, ...).
func (e *InvalidError) Unwrap() error { return e.Err }

// refuse counts a refused write and wraps its reason.
func (b *Bus) refuse(err error) error {
	b.writes.rejected.Add(1)
	return &InvalidError{err}
}

type writeStats struct{ ok, failed, rejected atomic.Uint64 }

// WriteStats returns counts of applied, failed (device error) and rejected (validation) writes.
func (b *Bus) WriteStats() (ok, failed, rejected uint64) {
	return b.writes.ok.Load(), b.writes.failed.Load(), b.writes.rejected.Load()
}

// CountRejected counts a write that its source refused before calling Write
// (a malformed request, say) as rejected, like the refusals of Write itself.
func (b *Bus) CountRejected() { b.writes.rejected.Add(1) }

// Write validates v against the datapoint (kind, format, limits, rate limit,
// protect), hands it to the device's writer and returns the value read
// back. A rejected write never reaches the device. A value the device
// already holds (the last good value) is not written again — device flash
// wears out — and its current value is returned; every other write,
// applied, refused or failed, is recorded in the audit log with the source
// ctx carries (WithSource). Writes of the watchdog (RunWatchdogs) are
// neither skipped as unchanged nor rate limited.
func (b *Bus) Write(ctx context.Context, device, name string, v any) (any, error) {
	key := model.Key(device, name)
	b.mu.RLock()
	e, ok := b.points[key]
	var d *deviceEntry
	var last model.Value
	var has bool
	meta := model.Datapoint{Device: device, Name: name}
	if ok {
		d = b.devices[device]
		last, has, meta = e.last, e.has, e.meta
	}
	b.mu.RUnlock()
	var old any
	if has {
		old = last.Value
	}
	dog := fromDog(ctx)
	got, err := b.write(ctx, meta, d, v, last, has, dog)
	unchanged := errors.Is(err, errUnchanged)
	if !dog && (err == nil || unchanged) {
		b.heard(meta, got, err == nil)
	}
	if unchanged {
		return got, nil
	}
	b.record(ctx, model.Short(key), old, v, err)
	return got, err
}

// errUnchanged tells Write that the device already holds the value.
var errUnchanged = errors.New("unchanged")

// write checks and applies one write; has says last is the last value, dog
// that the watchdog writes (no unchanged skip, no rate limit).
func (b *Bus) write(ctx context.Context, meta model.Datapoint, d *deviceEntry, v any, last model.Value, has, dog bool) (any, error) {
	if d == nil {
		return nil, b.refuse(fmt.Errorf("%s: %w", model.Short(meta.Key()), ErrUnknown))
	}
	nv, err := meta.CheckWrite(v)
	switch {
	case err != nil:
		return nil, b.refuse(err)
	case d.writer == nil:
		return nil, b.refuse(ErrNoWriter)
	case has && !dog && last.Quality == model.Good && model.SameValue(last.Value, nv):
		return last.Value, errUnchanged
	case !dog && !d.limit.allow(meta.Name, model.NowMs()):
		return nil, b.refuse(fmt.Errorf("%w: at most one write per %d ms", ErrRateLimited, d.limit.gap))
	}
	if meta.Protect != "" {
		s := b.safe(meta.Key())
		s.write.Lock()
		defer s.write.Unlock()
		if !resend(ctx) {
			if err := b.checkProtect(ctx, meta, d.writer, s, nv); err != nil {
				return nil, b.refuse(err)
			}
		}
	}
	got, err := d.writer.Write(ctx, meta.Name, nv)
	if err != nil {
		b.writes.failed.Add(1)
		return nil, err
	}
	b.writes.ok.Add(1)
	if meta.Protect != "" {
		b.safe(meta.Key()).wroteValue(got, nv)
	}
	return got, nil
}

type rateLimit struct {
	gap  int64
	mu   sync.Mutex
	last map[string]int64
}

func newRateLimit(gapMs int64) *rateLimit { return &rateLimit{gap: gapMs, last: map[string]int64{}} }

func (r *rateLimit) allow(name string, now int64) bool {
	if r.gap <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.last[name]; ok && now-t < r.gap {
		return false
	}
	r.last[name] = now
	return true
}
