package uplink_test

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/gridbox/gridbox/uplink"
)

// FuzzDecode feeds arbitrary <root>/data payloads (what a fleet ingest
// reads from a broker) to uplink.Decode: an error, never a panic, and a
// decoded message always has its required fields.
func FuzzDecode(f *testing.F) {
	plain := []byte(`{"site":"s1","seq":7,"sent":1700000000000,"values":[{"dp":"pv/ac_power","v":4200,"ts":1700000000000,"q":"good"}]}`)
	f.Add(plain)
	f.Add(gzipped(plain))
	f.Add([]byte(`{"site":"s1","seq":0}`))
	f.Add([]byte(`{"site":"","seq":1,"values":[{"dp":"x","v":"text"}]}`))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Add([]byte(`{"values":[{"v":{"nested":[1,2,{"a":null}]}}],"site":"x","seq":18446744073709551615}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := uplink.Decode(p)
		if err == nil && (m.Site == "" || m.Seq == 0) {
			t.Fatalf("Decode accepted a message without site or seq: %+v", m)
		}
	})
}

func gzipped(p []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write(p)
	_ = w.Close()
	return b.Bytes()
}
