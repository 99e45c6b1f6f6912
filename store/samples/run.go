package samples

import (
	"context"
	"log/slog"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// Batching configures Run.
type Batching struct {
	BatchSize     int           // max values per batch; must be positive
	FlushInterval time.Duration // max time a value waits before its batch is written; must be positive
	Log           *slog.Logger
	Metrics       *Metrics // counts the values of a batch dropped after its retry

	// Write writes one batch: all of it or, on error, none. Its context
	// is not cancelled with Run's.
	Write func(ctx context.Context, vals []model.Value) error
}

// Run consumes sub.Values and writes them with b.Write in batches of at
// most BatchSize, no value waiting longer than FlushInterval. A failed batch
// is logged and retried once at the next flush, then dropped and counted.
// Run never blocks the bus: while a batch is written, values queue in the
// bounded subscription, which counts what does not fit. When ctx is done Run
// writes what is buffered and what is queued at that moment, then returns
// nil. Writes are not cut short by ctx: a started batch always completes.
func Run(ctx context.Context, sub *bus.Subscription, b Batching) error {
	r := &runner{b: b, ctx: context.WithoutCancel(ctx), buf: make([]model.Value, 0, b.BatchSize)}
	r.timer = time.NewTimer(b.FlushInterval)
	r.timer.Stop()
	defer r.timer.Stop()
	for {
		select {
		case <-ctx.Done():
			r.drain(sub.Values)
			return nil
		case v := <-sub.Values:
			r.add(v)
		case <-r.timer.C:
			r.flush()
		}
	}
}

// runner is the state of one Run loop; only that loop touches it.
type runner struct {
	b     Batching
	ctx   context.Context // for writes; not cancelled with Run's ctx
	buf   []model.Value
	retry []model.Value // a batch that failed once, tried again at the next flush
	timer *time.Timer   // armed while buf or retry holds values
}

// add buffers v and flushes when the batch is full.
func (r *runner) add(v model.Value) {
	r.buf = append(r.buf, v)
	if len(r.buf) == 1 && r.retry == nil {
		r.timer.Reset(r.b.FlushInterval)
	}
	if len(r.buf) >= r.b.BatchSize {
		r.flush()
	}
}

// flush retries the failed batch, if any, then writes the buffer, and
// re-arms the timer when a batch is left to retry.
func (r *runner) flush() {
	r.timer.Stop()
	if r.retry != nil {
		if err := r.b.Write(r.ctx, r.retry); err != nil {
			r.b.Log.Error("batch dropped after its retry failed", "values", len(r.retry), "err", err)
			r.b.Metrics.Dropped(len(r.retry))
		}
		r.retry = nil
	}
	if len(r.buf) == 0 {
		return
	}
	if err := r.b.Write(r.ctx, r.buf); err != nil {
		r.b.Log.Warn("batch write failed; retrying at the next flush", "values", len(r.buf), "retry_in", r.b.FlushInterval, "err", err)
		r.retry = r.buf
		r.buf = make([]model.Value, 0, r.b.BatchSize)
		r.timer.Reset(r.b.FlushInterval)
		return
	}
	r.buf = r.buf[:0]
}

// drain takes the values queued right now (not those published meanwhile,
// so shutdown is bounded), writes everything and gives a failed last batch
// its one retry at once.
func (r *runner) drain(ch <-chan model.Value) {
	for n := len(ch); n > 0; n-- {
		r.buf = append(r.buf, <-ch)
		if len(r.buf) >= r.b.BatchSize {
			r.flush()
		}
	}
	r.flush()
	if r.retry != nil {
		r.flush()
	}
}
