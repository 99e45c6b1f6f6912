// Package testenv decides what a test does when an outside peer (a program
// or a service) is missing: skip on a developer machine, fail in CI, where
// GRIDBOX_REQUIRE_SERVICES=1 is set — a skipped integration test is not a
// passed one.
package testenv

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Required reports whether missing peers must fail tests.
func Required() bool { return os.Getenv("GRIDBOX_REQUIRE_SERVICES") == "1" }

// Missing skips the test, or fails it when peers are required.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("required peer missing (GRIDBOX_REQUIRE_SERVICES=1): "+format, args...)
	}
	t.Skipf("peer missing: "+format, args...)
}

// Tool returns the path of a program, looking in /usr/sbin too.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin/", "/usr/local/sbin/", "/sbin/"} {
		if _, err := os.Stat(dir + name); err == nil {
			return dir + name
		}
	}
	Missing(t, "program %s is not installed", name)
	return ""
}

// Service checks that something listens on addr (host:port).
func Service(t testing.TB, name, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		Missing(t, "%s at %s: %v", name, addr, err)
		return
	}
	c.Close()
}

// FreeAddr returns a loopback host:port that nothing listens on (for a peer
// started later, or a device that is down).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Eventually polls cond every 10 ms until it holds, failing the test after
// timeout: tests wait for a positive signal, never sleep and hope.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Buffer is a bytes.Buffer that a logger (or a child process) and a test
// can share.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Metric reads one series (name with its labels, as /metrics prints it) from
// a Prometheus text page; -1 when the series is absent.
func Metric(t testing.TB, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}
