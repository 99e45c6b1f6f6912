package sim

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzReadFrame feeds arbitrary client bytes to the Modbus TCP framing of
// the fault-injecting front door: a frame it returns is exactly as long as
// its header says, anything else is an error, never a panic.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 6, 1, 3, 0x9c, 0x40, 0, 2})
	f.Add([]byte{0, 1, 0, 0, 0, 1, 1})
	f.Add([]byte{0xff, 0xff, 0, 0, 0xff, 0xff, 1, 3})
	f.Add([]byte{0, 2, 0, 0, 0, 3, 1, 0x83, 0x02, 0, 3, 0, 0, 0, 2, 1, 4})
	f.Fuzz(func(t *testing.T, p []byte) {
		r := bytes.NewReader(p)
		for {
			frame, err := readFrame(r)
			if err != nil {
				return
			}
			n := int(binary.BigEndian.Uint16(frame[4:6]))
			if len(frame) != mbapLen+n-1 || n < 2 || n > 254 {
				t.Fatalf("frame % x: header length %d", frame, n)
			}
			if exc := exceptionFrame(frame, 4); binary.BigEndian.Uint16(exc[0:2]) != binary.BigEndian.Uint16(frame[0:2]) {
				t.Fatalf("exception answer % x lost the transaction id of % x", exc, frame)
			}
		}
	})
}
