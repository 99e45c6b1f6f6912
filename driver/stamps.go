package driver

import (
	"sync/atomic"

	"github.com/gridbox/gridbox/model"
)

// Stamps hands out a device's value timestamps (ms): a poll's are never
// earlier than the previous poll's and later polls' strictly later. Two
// polls in one millisecond happen: after a stall the ticker has a tick
// pending and the next poll follows at once, and a poll on loopback takes
// well under a millisecond. The store keeps one value per datapoint and
// millisecond, so equal timestamps would silently lose the earlier value
// (found by bench/soak). The zero value is ready to use.
type Stamps struct {
	floor atomic.Int64 // least timestamp of the running poll
	last  atomic.Int64 // greatest timestamp handed out
}

// Begin starts a poll (or a write's read-back, a received document, a
// stale mark): its timestamps are later than every one handed out before.
func (s *Stamps) Begin() { s.floor.Store(s.last.Load() + 1) }

// Now is the current time in ms, at least the running poll's floor.
func (s *Stamps) Now() int64 {
	t := max(model.NowMs(), s.floor.Load())
	for {
		l := s.last.Load()
		if t <= l || s.last.CompareAndSwap(l, t) {
			return t
		}
	}
}
