package keba_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/keba"
	"github.com/gridbox/gridbox/sim"
)

// TestReadOnce: `gridbox read --driver keba` reads every reported value
// without specs, and only the named ones with specs.
func TestReadOnce(t *testing.T) {
	listen := freeUDP(t)
	_, replyPort, _ := net.SplitHostPort(listen)
	w := startWallbox(t, replyPort, "333")
	url := "udp://" + w.addr + "?listen=" + listen
	seq, err := keba.OneShot().ReadOnce(context.Background(), driver.ReadRequest{URL: url, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]driver.Reading{}
	for r := range seq {
		got[r.Name] = r
	}
	if r := got["power"]; r.Err != nil || r.Value != 11040.0 || r.Unit != "W" || !strings.Contains(r.Raw, `"P": 11040000`) {
		t.Errorf("power = %+v", r)
	}
	if r := got["serial"]; r.Value != "333" {
		t.Errorf("serial = %+v", r)
	}
	seq, err = keba.OneShot().ReadOnce(context.Background(), driver.ReadRequest{URL: url, Specs: []string{"state"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for r := range seq {
		names = append(names, r.Name)
		if r.Value != 3.0 {
			t.Errorf("state = %+v", r)
		}
	}
	if len(names) != 1 {
		t.Errorf("read %v, want state only", names)
	}
	for _, bad := range []driver.ReadRequest{{URL: url, Specs: []string{"display"}}, {URL: "tcp://h:1"}, {URL: url, Profile: "x"}} {
		if _, err := keba.OneShot().ReadOnce(context.Background(), bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestReadSimulator: the one-shot read of `gridbox sim keba-p30`.
func TestReadSimulator(t *testing.T) {
	k, err := sim.StartKEBA(context.Background(), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	seq, err := keba.OneShot().ReadOnce(context.Background(), driver.ReadRequest{URL: k.URL() + "?listen=127.0.0.1:0", Specs: []string{"power", "max_current"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []any
	for r := range seq {
		got = append(got, r.Value)
	}
	if len(got) != 2 || got[0] != 11040.0 || got[1] != 16.0 {
		t.Fatalf("read %v", got)
	}
}
