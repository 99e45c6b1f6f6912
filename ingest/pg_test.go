package ingest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gridbox/gridbox/uplink"
	"github.com/gridbox/gridbox/uplink/uplinktest"
	"github.com/jackc/pgx/v5"
)

// TestWriteDedupe: the same message written twice is stored once; numbers,
// text and bools land in their columns; other values are skipped and counted.
func TestWriteDedupe(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, uplinktest.PostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := EnsureSchema(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureSchema(ctx, conn); err != nil {
		t.Fatalf("schema twice: %v", err)
	}
	var m uplink.Message
	doc := `{"site":"s1","seq":1,"sent":1,"values":[
		{"dp":"m/p","v":1.5,"ts":1000,"q":"good"},{"dp":"m/mode","v":"auto","ts":1000,"q":"good"},
		{"dp":"m/on","v":true,"ts":1000,"q":"stale"},{"dp":"m/p","v":1.5,"ts":1000,"q":"good"},
		{"dp":"m/x","v":[1,2],"ts":1000,"q":"good"}]}`
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	rs, bad := rows(m, nil)
	if bad != 1 || len(rs) != 4 {
		t.Fatalf("rows %d, bad %d", len(rs), bad)
	}
	for i, want := range []int64{3, 0} {
		n, err := write(ctx, conn, rs)
		if err != nil || n != want {
			t.Fatalf("write #%d: %d new rows (want %d), %v", i+1, n, want, err)
		}
	}
	var num float64
	var txt string
	if err := conn.QueryRow(ctx, `SELECT value FROM gridbox_samples WHERE datapoint = 'm/on'`).Scan(&num); err != nil || num != 1 {
		t.Fatalf("bool: %v %v", num, err)
	}
	if err := conn.QueryRow(ctx, `SELECT text_value FROM gridbox_samples WHERE datapoint = 'm/mode'`).Scan(&txt); err != nil || txt != "auto" {
		t.Fatalf("text: %q %v", txt, err)
	}
}

// TestDecodeGzip: a gzip payload is recognised without a content type.
func TestDecodeGzip(t *testing.T) {
	p := []byte(`{"site":"s","seq":7,"sent":1,"values":[{"dp":"a/b","v":1,"ts":2,"q":"good"}]}`)
	for _, payload := range [][]byte{p, gz(t, p)} {
		m, err := uplink.Decode(payload)
		if err != nil || m.Seq != 7 || len(m.Values) != 1 {
			t.Fatalf("decode: %+v %v", m, err)
		}
	}
	if _, err := uplink.Decode([]byte(`{"values":[]}`)); err == nil {
		t.Fatal("a message without site and seq is accepted")
	}
}
