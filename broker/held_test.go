package broker

import (
	"bytes"
	"io"
	"testing"
)

// qos1Publish is a 3.1.1/5 QoS 1 PUBLISH of topic "h/t" with packet id id
// (MQTT 5: with an empty property block).
func qos1Publish(id uint16, v5 bool) []byte {
	body := []byte{0, 3, 'h', '/', 't', byte(id >> 8), byte(id)}
	if v5 {
		body = append(body, 0)
	}
	body = append(body, 'v')
	return append([]byte{0x32, byte(len(body))}, body...)
}

// TestPipelinedPublishesAreAllAcknowledged: PUBACKs to publishes that
// arrive together are held until the broker has read them all and then
// written at once (third_party/mochi-mqtt PATCHES.md 4); every one arrives,
// in order, and a DISCONNECT the broker sends while replies are held (a
// packet too large right behind them) still goes out, after them.
func TestPipelinedPublishesAreAllAcknowledged(t *testing.T) {
	b, err := Start(Options{Listen: "127.0.0.1:0", MaxPacketSize: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, v5 := range []bool{false, true} {
		level := byte(4)
		if v5 {
			level = 5
		}
		c, r, _ := rawConnect(t, b.Addr(), level)
		const n = 500
		var burst []byte
		for id := uint16(1); id <= n; id++ {
			burst = append(burst, qos1Publish(id, v5)...)
		}
		burst = append(burst, bigPublishHeader()...)
		if _, err := c.Write(burst); err != nil {
			t.Fatal(err)
		}
		for id := uint16(1); id <= n; id++ {
			p := readPacket(t, r)
			if p[0] != 0x40 || p[1] != byte(id>>8) || p[2] != byte(id) {
				t.Fatalf("MQTT level %d: packet %d: got % x, want PUBACK for id %d", level, id, p[:min(len(p), 6)], id)
			}
		}
		if v5 {
			if d := readPacket(t, r); !bytes.HasPrefix(d, []byte{0xe0, 0x95}) {
				t.Errorf("MQTT 5: got % x after the PUBACKs, want DISCONNECT 0x95", d[:min(len(d), 6)])
			}
		}
		if _, err := r.ReadByte(); err != io.EOF {
			t.Errorf("MQTT level %d: connection still open (%v)", level, err)
		}
	}
}
