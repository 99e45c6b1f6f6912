package sunspec

import (
	"context"
	"errors"
	"testing"

	"github.com/simonvetter/modbus"
)

// memDevice is an in-memory register image with a read counter; a read
// touching an address it lacks is answered "illegal data address".
type memDevice struct {
	regs  image
	reads int
}

func (m *memDevice) read(_ context.Context, addr, n uint16) ([]uint16, error) {
	m.reads++
	regs, ok := m.regs.get(addr, n)
	if !ok {
		return nil, modbus.ErrIllegalDataAddress
	}
	return regs, nil
}

// chain lays out models (id, length) from base with the marker and end header.
func chain(base uint16, models ...[2]uint16) *memDevice {
	im := image{base: 0x5375, base + 1: 0x6E53}
	pos := base + 2
	for _, m := range models {
		im[pos], im[pos+1] = m[0], m[1]
		for i := range m[1] {
			im[pos+2+i] = 0
		}
		pos += 2 + m[1]
	}
	im[pos], im[pos+1] = 0xFFFF, 0
	return &memDevice{regs: im}
}

func TestDiscoverOffByOneAndPlan(t *testing.T) {
	for _, base := range DefaultBases() {
		dev := chain(base, [2]uint16{1, 66}, [2]uint16{103, 50}, [2]uint16{160, 48}, [2]uint16{1, 65}, [2]uint16{203, 105}, [2]uint16{64000, 10})
		l, im, err := discover(context.Background(), dev.read, 1, DefaultBases())
		if err != nil {
			t.Fatalf("base %d: %v", base, err)
		}
		if l.Base != base || len(l.Models) != 6 || l.Models[5].def != nil || l.Models[4].Addr != base+2+68+52+50+67 {
			t.Fatalf("base %d: %s", base, l)
		}
		if _, ok := im.get(l.Models[0].Addr, 68); !ok {
			t.Errorf("base %d: the first common block was not read during discovery", base)
		}
		// The polled models (103, 160, 203 with their headers: 52+50+107
		// registers, the second common block between) need two reads.
		p := l.plan()
		if len(p) != 2 {
			t.Errorf("base %d: plan %v, want 2 reads", base, p)
		}
		for _, w := range p {
			if w.N > maxRead || int(w.Start)+int(w.N) > int(l.End) {
				t.Errorf("base %d: read %+v past the limits (end %d)", base, w, l.End)
			}
		}
		covered := map[uint16]bool{}
		for _, w := range p {
			for i := range w.N {
				covered[w.Start+i] = true
			}
		}
		for _, m := range l.Models {
			for a := int(m.Addr); m.def != nil && m.ID != 1 && a < m.end(); a++ {
				if !covered[uint16(a)] {
					t.Fatalf("base %d: register %d of model %d not read", base, a, m.ID)
				}
			}
		}
	}
}

func TestDiscoverErrors(t *testing.T) {
	dev := &memDevice{regs: image{40000: 1, 40001: 2}}
	if _, _, err := discover(context.Background(), dev.read, 1, DefaultBases()); !errors.Is(err, errNoMarker) {
		t.Errorf("no marker: %v", err)
	}
	dev = chain(40000, [2]uint16{1, 66}, [2]uint16{103, 10}) // shorter than the model
	if _, _, err := discover(context.Background(), dev.read, 1, DefaultBases()); err == nil {
		t.Error("a model 103 of 10 registers was accepted")
	}
	io := func(context.Context, uint16, uint16) ([]uint16, error) { return nil, errors.New("connection refused") }
	if _, _, err := discover(context.Background(), io, 1, DefaultBases()); err == nil || errors.Is(err, errNoMarker) {
		t.Errorf("an I/O error must end discovery at once: %v", err)
	}
}

// TestHeaderCheckFindsMovedChain: after a firmware update moved the chain,
// a poll's header check reports it (and the device rediscovers).
func TestHeaderCheckFindsMovedChain(t *testing.T) {
	dev := chain(40000, [2]uint16{1, 66}, [2]uint16{103, 50}, [2]uint16{120, 26})
	l, im, err := discover(context.Background(), dev.read, 1, DefaultBases())
	if err != nil {
		t.Fatal(err)
	}
	if err := checkHeaders(l, im); err != nil {
		t.Fatal(err)
	}
	moved := chain(40000, [2]uint16{1, 66}, [2]uint16{113, 60}, [2]uint16{120, 26})
	for _, w := range l.plan() {
		regs, err := moved.read(context.Background(), w.Start, w.N)
		if err != nil {
			t.Fatal(err)
		}
		im.put(w.Start, regs)
	}
	if err := checkHeaders(l, im); !errors.Is(err, errLayout) {
		t.Fatalf("moved chain: %v", err)
	}
}
