package postgres

import (
	"context"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// Run is the SQLite store's batching loop (store/run.go), with one
// addition: each batch write is bounded by writeTimeout, since a network
// peer can stop answering.
//
// Run consumes sub.Values and writes them in batches of at most BatchSize,
// no value waiting longer than FlushInterval. A failed batch is logged,
// counted and retried once at the next flush, then dropped and counted.
// Run never blocks the bus: while a batch is written, values queue in the
// bounded subscription, which counts what does not fit. When ctx is done Run
// writes what is buffered and what is queued at that moment, then returns
// nil. Writes are not cut short by ctx: a started batch always completes.
func (s *Store) Run(ctx context.Context, sub *bus.Subscription) error {
	r := &runner{s: s, ctx: context.WithoutCancel(ctx), buf: make([]model.Value, 0, s.opts.BatchSize)}
	r.timer = time.NewTimer(s.opts.FlushInterval)
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
	s     *Store
	ctx   context.Context // for writes; not cancelled with Run's ctx
	buf   []model.Value
	retry []model.Value // a batch that failed once, tried again at the next flush
	timer *time.Timer   // armed while buf or retry holds values
}

// add buffers v and flushes when the batch is full.
func (r *runner) add(v model.Value) {
	r.buf = append(r.buf, v)
	if len(r.buf) == 1 && r.retry == nil {
		r.timer.Reset(r.s.opts.FlushInterval)
	}
	if len(r.buf) >= r.s.opts.BatchSize {
		r.flush()
	}
}

// flush retries the failed batch, if any, then writes the buffer, and
// re-arms the timer when a batch is left to retry.
func (r *runner) flush() {
	r.timer.Stop()
	if r.retry != nil {
		if err := r.write(r.retry); err != nil {
			r.s.log.Error("batch dropped after its retry failed", "values", len(r.retry), "err", err)
			r.s.met.dropped(len(r.retry))
		}
		r.retry = nil
	}
	if len(r.buf) == 0 {
		return
	}
	if err := r.write(r.buf); err != nil {
		r.s.log.Warn("batch write failed; retrying at the next flush", "values", len(r.buf), "retry_in", r.s.opts.FlushInterval, "err", err)
		r.retry = r.buf
		r.buf = make([]model.Value, 0, r.s.opts.BatchSize)
		r.timer.Reset(r.s.opts.FlushInterval)
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
		if len(r.buf) >= r.s.opts.BatchSize {
			r.flush()
		}
	}
	r.flush()
	if r.retry != nil {
		r.flush()
	}
}

// write writes one batch, bounded by writeTimeout.
func (r *runner) write(vals []model.Value) error {
	ctx, cancel := context.WithTimeout(r.ctx, writeTimeout)
	defer cancel()
	return r.s.Write(ctx, vals)
}
