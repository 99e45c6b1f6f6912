package ingest

import (
	"bytes"
	"compress/gzip"
	"testing"
)

func gz(t *testing.T, p []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return b.Bytes()
}
