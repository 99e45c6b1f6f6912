package postgres

import (
	"context"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/store/samples"
)

// Run is the SQLite store's batching loop (samples.Run), with one addition:
// each batch write is bounded by writeTimeout, since a network peer can stop
// answering.
//
// Run consumes sub.Values and writes them in batches of at most BatchSize,
// no value waiting longer than FlushInterval. A failed batch is logged,
// counted and retried once at the next flush, then dropped and counted.
// Run never blocks the bus: while a batch is written, values queue in the
// bounded subscription, which counts what does not fit. When ctx is done Run
// writes what is buffered and what is queued at that moment, then returns
// nil. Writes are not cut short by ctx: a started batch always completes.
// Beside it, Run applies retention and refreshes the size gauges every
// minute (retention.go).
func (s *Store) Run(ctx context.Context, sub *bus.Subscription) error {
	rctx, stopRetain := context.WithCancel(ctx)
	retained := make(chan struct{})
	go func() { defer close(retained); s.retain(rctx) }()
	defer func() { stopRetain(); <-retained }()
	return samples.Run(ctx, sub, samples.Batching{
		BatchSize: s.opts.BatchSize, FlushInterval: s.opts.FlushInterval,
		Log: s.log, Metrics: s.met, Write: s.writeBounded,
	})
}

// writeBounded writes one batch, bounded by writeTimeout.
func (s *Store) writeBounded(ctx context.Context, vals []model.Value) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return s.Write(ctx, vals)
}
