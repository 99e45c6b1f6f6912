package store

import (
	"context"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/store/samples"
)

// Run consumes sub.Values and writes them in batches of at most BatchSize,
// no value waiting longer than FlushInterval, with the batching loop both
// stores share (samples.Run): a failed batch is logged, counted and retried
// once at the next flush, then dropped and counted; the bus is never
// blocked; when ctx is done Run writes what is buffered and what is queued
// at that moment, then returns nil. Writes are not cut short by ctx: a
// started batch always completes.
// Beside it, Run applies retention and refreshes the size metrics every
// minute (retention.go), one short transaction at a time.
func (s *Store) Run(ctx context.Context, sub *bus.Subscription) error {
	rctx, stopRetain := context.WithCancel(ctx)
	retained := make(chan struct{})
	go func() { defer close(retained); s.retain(rctx) }()
	defer func() { stopRetain(); <-retained }()
	return samples.Run(ctx, sub, samples.Batching{
		BatchSize: s.opts.BatchSize, FlushInterval: s.opts.FlushInterval,
		Log: s.log, Metrics: s.met.Metrics, Write: s.Write,
	})
}
