package knx

import (
	"testing"

	"github.com/vapourismo/knx-go/knx/knxnet"
)

// fuzzDPTs are the DPTs every fuzzed telegram is decoded as.
var fuzzDPTs = []string{"1.001", "2.001", "3.007", "5.001", "5.003", "5.010", "6.010", "7.001", "8.001",
	"9.001", "12.001", "13.013", "14.056", "16.000", "16.001", "17.001", "20.102"}

// FuzzTelegram feeds raw cEMI frames, wrapped in a tunnelling request as a
// KNX/IP gateway sends them, through the driver's receive path: unpack,
// pick the group telegram, decode it as every DPT. Nothing may panic
// (knx-go's own unpacker does on some frames: the corpus keeps one); a
// value that decodes must encode and decode to itself.
func FuzzTelegram(f *testing.F) {
	// L_Data.ind 0.0.3 → 1/2/3 GroupValue_Write 0c 1a (9.001 21 °C), and a small write.
	f.Add([]byte{0x29, 0x00, 0xbc, 0xe0, 0x00, 0x03, 0x0a, 0x03, 0x03, 0x00, 0x80, 0x0c, 0x1a})
	f.Add([]byte{0x29, 0x00, 0xbc, 0xe0, 0x00, 0x04, 0x0a, 0x04, 0x01, 0x00, 0x81})
	dpts := make([]DPT, len(fuzzDPTs))
	for i, s := range fuzzDPTs {
		dpts[i], _ = ParseDPT(s)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		// The frame as a gateway tunnels it, through the guarded unpack.
		head := []byte{0x06, 0x10, 0x04, 0x20, 0, 0, 0x04, 1, 0, 0}
		pkt := append(head, frame...)
		pkt[4], pkt[5] = byte(len(pkt)>>8), byte(len(pkt))
		srv, err := unpack(pkt)
		req, ok := srv.(*knxnet.TunnelReq)
		if err != nil || !ok {
			return
		}
		tg, ok := groupTelegramOf(req.Payload)
		if !ok {
			return
		}
		_ = GAString(tg.ga)
		for _, d := range dpts {
			v, err := d.Decode(tg.data)
			if err != nil || v == nil {
				continue
			}
			b, err := d.Encode(v)
			if err != nil {
				t.Fatalf("%s: decoded % x to %v, which does not encode: %v", d, tg.data, v, err)
			}
			if w, err := d.Decode(b); err != nil || w != v {
				t.Fatalf("%s: % x → %v → % x → %v, %v", d, tg.data, v, b, w, err)
			}
		}
	})
}
