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

// Write validates v against the datapoint (kind, format, limits, rate limit),
// hands it to the device's writer and returns the value read back.
// A rejected write never reaches the device.
func (b *Bus) Write(ctx context.Context, device, name string, v any) (any, error) {
	b.mu.RLock()
	e, ok := b.points[model.Key(device, name)]
	var d *deviceEntry
	if ok {
		d = b.devices[device]
	}
	b.mu.RUnlock()
	if !ok {
		return nil, b.refuse(fmt.Errorf("%s: %w", model.Short(model.Key(device, name)), ErrUnknown))
	}
	meta := e.meta
	nv, err := meta.CheckWrite(v)
	switch {
	case err != nil:
		return nil, b.refuse(err)
	case d.writer == nil:
		return nil, b.refuse(ErrNoWriter)
	case !d.limit.allow(name, model.NowMs()):
		return nil, b.refuse(fmt.Errorf("%w: at most one write per %d ms", ErrRateLimited, d.limit.gap))
	}
	got, err := d.writer.Write(ctx, name, nv)
	if err != nil {
		b.writes.failed.Add(1)
		return nil, err
	}
	b.writes.ok.Add(1)
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
