package sdnotify

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// listen is a fake service manager: a unixgram socket collecting messages.
func listen(t *testing.T) (string, func() []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 256)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, string(buf[:n]))
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return path, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func TestNotifyAndWatchdog(t *testing.T) {
	path, got := listen(t)
	env := map[string]string{"NOTIFY_SOCKET": path, "WATCHDOG_USEC": strconv.Itoa(20000)}
	n := FromEnv(func(k string) string { return env[k] })
	if !n.Enabled() || n.interval != 10*time.Millisecond {
		t.Fatalf("FromEnv = %+v", n)
	}
	if err := n.Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Watchdog(ctx, func(err error) { t.Error(err) }) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(got()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("messages %q: want READY=1 and watchdog keep-alives", got())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if m := got(); m[0] != "READY=1" || m[1] != "WATCHDOG=1" {
		t.Errorf("messages %q", m)
	}
}

func TestOutsideSystemd(t *testing.T) {
	n := FromEnv(func(string) string { return "" })
	if n.Enabled() {
		t.Fatal("enabled without NOTIFY_SOCKET")
	}
	if err := n.Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
	n.Watchdog(context.Background(), nil) // returns at once
	other := FromEnv(func(k string) string {
		return map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}[k]
	})
	if other.interval != 0 {
		t.Errorf("watchdog for another pid: %v", other.interval)
	}
}
