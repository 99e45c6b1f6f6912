package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/gridbox/gridbox/model"
)

// Reader is the optional capability of a writer whose device can be asked
// for the current value of one datapoint (a fresh read, not the last
// polled value). The bus reads a protected datapoint before every write.
type Reader interface {
	Read(ctx context.Context, name string) (any, error)
}

// ErrProtected is the reason of a write refused because the datapoint is
// protected (docs/writes.md): it would loosen the installer's limit, or the
// device could not be read to know it (fail safe).
var ErrProtected = errors.New("protected")

// safeState is what the bus keeps per datapoint for protect and watchdog.
type safeState struct {
	write sync.Mutex // serialises protected writes: read, compare, write

	mu       sync.Mutex
	inst     float64 // the installer's value: last value read that gridbox did not write
	wrote    float64 // last value gridbox wrote
	hasWrote bool
	dog      *dogState // nil without a watchdog write yet
}

// safe returns the safe-write state of a datapoint, made on first use.
func (b *Bus) safe(key string) *safeState {
	b.safeMu.Lock()
	defer b.safeMu.Unlock()
	s, ok := b.safes[key]
	if !ok {
		s = &safeState{}
		b.safes[key] = s
	}
	return s
}

// checkProtect reads the device's current value of a protected datapoint
// and refuses a write of nv that would loosen the installer's value. The
// caller holds s.write until its write is done.
func (b *Bus) checkProtect(ctx context.Context, meta model.Datapoint, w Writer, s *safeState, nv any) error {
	r, ok := w.(Reader)
	if !ok {
		return fmt.Errorf("%w: the device cannot be read to check the installer's value", ErrProtected)
	}
	cur, err := r.Read(ctx, meta.Name)
	if err != nil {
		return fmt.Errorf("%w: reading the current value failed: %v", ErrProtected, err)
	}
	c, ok := model.AsFloat(cur)
	if !ok {
		return fmt.Errorf("%w: the device holds %v, not a number", ErrProtected, cur)
	}
	v, _ := model.AsFloat(nv)
	s.mu.Lock()
	if !s.hasWrote || c != s.wrote {
		s.inst = c // the device holds a value gridbox did not write: the installer's
	}
	inst := s.inst
	s.mu.Unlock()
	if meta.Protect.Looser(v, inst) {
		way := "above"
		if meta.Protect == model.ProtectLower {
			way = "below"
		}
		return fmt.Errorf("%w: %s is %s the installer's value %s (protect: %s)", ErrProtected, num(v), way, num(inst), meta.Protect)
	}
	return nil
}

// wroteValue remembers the value gridbox wrote to a protected datapoint:
// the one read back, else the one written.
func (s *safeState) wroteValue(got, v any) {
	f, ok := model.AsFloat(got)
	if !ok {
		if f, ok = model.AsFloat(v); !ok {
			return
		}
	}
	s.mu.Lock()
	s.wrote, s.hasWrote = f, true
	s.mu.Unlock()
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
