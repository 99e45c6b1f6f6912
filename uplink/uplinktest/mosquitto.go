// Package uplinktest runs a private Mosquitto for the uplink and ingest
// tests: its own config file, port and persistence directory, so a test can
// stop and start the remote broker without touching anything else.
package uplinktest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
)

// Mosquitto is a private broker with persistence on.
type Mosquitto struct {
	t       testing.TB
	bin     string
	conf    string
	Addr    string // 127.0.0.1:port
	TLSAddr string // the TLS listener (StartMosquittoTLS), requiring a client certificate
	cmd     *exec.Cmd
	log     *testenv.Buffer
}

// StartMosquitto starts a private Mosquitto on a free port; the test's
// cleanup stops it. A missing mosquitto skips (or fails in CI).
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	return start(t, nil)
}

// StartMosquittoTLS is StartMosquitto with a second listener (TLSAddr) for
// TLS with client certificates of the returned PKI.
func StartMosquittoTLS(t testing.TB) (*Mosquitto, PKI) {
	t.Helper()
	var pki PKI
	m := start(t, func(dir, addr string) string {
		pki = WritePKI(t, dir)
		_, port, _ := net.SplitHostPort(addr)
		return fmt.Sprintf("listener %s 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n", port, pki.CA, pki.ServerCert, pki.ServerKey)
	})
	return m, pki
}

func start(t testing.TB, extra func(dir, addr string) string) *Mosquitto {
	t.Helper()
	bin := testenv.Tool(t, "mosquitto")
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nautosave_interval 1\nmax_inflight_messages 100\nmax_queued_messages 1000000\nmax_queued_bytes 0\n", port, dir)
	tlsAddr := ""
	if extra != nil {
		tlsAddr = testenv.FreeAddr(t)
		body += extra(dir, tlsAddr)
	}
	if os.Geteuid() == 0 {
		body += "user root\n" // else mosquitto drops to its own user and cannot write its persistence file here
	}
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &Mosquitto{t: t, bin: bin, conf: conf, Addr: addr, TLSAddr: tlsAddr, log: &testenv.Buffer{}}
	m.Start()
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", m.Log())
		}
	})
	return m
}

// Start starts the broker (again) and waits until it accepts connections.
func (m *Mosquitto) Start() {
	m.t.Helper()
	if m.cmd != nil {
		return
	}
	m.cmd = exec.Command(m.bin, "-c", m.conf)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	testenv.Eventually(m.t, 20*time.Second, "mosquitto listening on "+m.Addr, func() bool {
		c, err := net.DialTimeout("tcp", m.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// Stop stops the broker cleanly (it saves its persistence file).
func (m *Mosquitto) Stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-done
	}
	m.cmd = nil
}

// Log is what the broker printed.
func (m *Mosquitto) Log() string { return m.log.String() }
