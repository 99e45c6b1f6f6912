package sunspec

import (
	"context"
	"testing"
)

// FuzzDiscover feeds arbitrary register contents after a marker to the
// discovery, the planner and the decoder: whatever a device answers, the
// driver returns values or errors, never panics.
func FuzzDiscover(f *testing.F) {
	f.Add([]byte{0, 1, 0, 66, 0, 103, 0, 50, 0xFF, 0xFF, 0, 0})
	f.Add([]byte{0, 160, 0, 28, 0xFF, 0xFF})
	f.Add([]byte{0, 1, 0xFF, 0xF0})
	f.Fuzz(func(t *testing.T, data []byte) {
		im := image{65000: 0x5375, 65001: 0x6E53}
		for i := 0; i+1 < len(data) && i/2 < 500; i += 2 {
			im[uint16(65002+i/2)] = uint16(data[i])<<8 | uint16(data[i+1])
		}
		dev := &memDevice{regs: im}
		l, got, err := discover(context.Background(), dev.read, 1, []uint16{65000})
		if err != nil {
			return
		}
		for _, w := range l.plan() {
			if regs, err := dev.read(context.Background(), w.Start, w.N); err == nil {
				got.put(w.Start, regs)
			}
		}
		_ = checkHeaders(l, got)
		for _, lg := range buildLogical("x", []*Layout{l}) {
			for _, dp := range lg.points {
				_, _ = dp.value(got)
			}
		}
	})
}
