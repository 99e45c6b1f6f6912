package xmlrpc

import (
	"bytes"
	"testing"
)

// FuzzDecode: any body decodes or errs (never panics), and what decodes
// re-encodes to a document that decodes to the same encoding.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`<methodCall><methodName>event</methodName><params><param><value>x</value></param></params></methodCall>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := DecodeResponse(bytes.NewReader(data), 1<<16); err == nil {
			once, err := EncodeResponse(v)
			if err != nil {
				t.Fatalf("decoded %#v does not encode: %v", v, err)
			}
			v2, err := DecodeResponse(bytes.NewReader(once), 0)
			if err != nil {
				t.Fatalf("re-decode: %v\n%s", err, once)
			}
			twice, _ := EncodeResponse(v2)
			if !bytes.Equal(once, twice) {
				t.Fatalf("unstable\n%s\n%s", once, twice)
			}
		}
		m, params, err := DecodeCall(bytes.NewReader(data), 1<<16)
		if err != nil {
			return
		}
		once, err := EncodeCall(m, params...)
		if err != nil {
			t.Fatalf("decoded call does not encode: %v", err)
		}
		m2, p2, err := DecodeCall(bytes.NewReader(once), 0)
		if err != nil || m2 != m {
			t.Fatalf("re-decode: %q %v\n%s", m2, err, once)
		}
		twice, _ := EncodeCall(m2, p2...)
		if !bytes.Equal(once, twice) {
			t.Fatalf("unstable\n%s\n%s", once, twice)
		}
	})
}
