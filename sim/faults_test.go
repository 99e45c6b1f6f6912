package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	f, err := ParseFaults("timeout=5%,exception=2%,garbage=1%,slow=200ms,halfopen,seed=7")
	if err != nil {
		t.Fatal(err)
	}
	want := Faults{Timeout: 0.05, Exception: 0.02, Garbage: 0.01, Slow: 200 * time.Millisecond, HalfOpen: true, Seed: 7}
	if f != want {
		t.Fatalf("got %+v, want %+v", f, want)
	}
	if got := f.String(); got != "timeout=5%,exception=2%,garbage=1%,slow=200ms,halfopen,seed=7" {
		t.Errorf("String() = %q", got)
	}
	for spec, msg := range map[string]string{
		"timeout=101%":           "want a percentage",
		"exception=x":            "want a percentage",
		"slow=-1s":               "negative",
		"slow=fast":              "invalid duration",
		"halfopen=1":             "takes no value",
		"drop=5%":                `unknown fault "drop"`,
		"timeout=60%,garbage=50": "at most 100%",
	} {
		if _, err := ParseFaults(spec); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseFaults(%q) = %v, want an error containing %q", spec, err, msg)
		}
	}
	if f, err := ParseFaults(""); err != nil || f.Any() {
		t.Errorf("ParseFaults(\"\") = %+v, %v", f, err)
	}
}

func TestFaultsModbusOnly(t *testing.T) {
	for _, name := range []string{"fronius-solar-api", "keba-p30", "homematic-ccu"} {
		_, err := StartFaulty(context.Background(), name, "127.0.0.1:0", 0, Faults{Timeout: 0.1}, nil)
		if err == nil || !strings.Contains(err.Error(), "Modbus TCP simulators only") {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
}

// startFaultySim runs sunspec-int with faults f (seeded) until the test ends.
func startFaultySim(t *testing.T, f Faults) *Server {
	t.Helper()
	f.Seed = 1
	s, err := StartFaulty(context.Background(), "sunspec-int", "127.0.0.1:0", 0, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawRead sends "read holding registers 40000..40001" with transaction id tid and
// returns the response frame, or the read error (after wait).
func rawRead(t *testing.T, c net.Conn, tid uint16, wait time.Duration) ([]byte, error) {
	t.Helper()
	req := []byte{0, 0, 0, 0, 0, 6, 1, 3, 0x9c, 0x40, 0, 2} // 40000: "SunS"
	binary.BigEndian.PutUint16(req, tid)
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	return readFrame(c)
}

func dialSim(t *testing.T, s *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFaultPassThrough(t *testing.T) {
	s := startFaultySim(t, Faults{Slow: time.Millisecond})
	resp, err := rawRead(t, dialSim(t, s), 42, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if tid := binary.BigEndian.Uint16(resp); tid != 42 || resp[7] != 3 || string(resp[9:]) != "SunS" {
		t.Fatalf("response % x: want tid 42, function 3, \"SunS\"", resp)
	}
}

func TestFaultTimeout(t *testing.T) {
	s := startFaultySim(t, Faults{Timeout: 1})
	_, err := rawRead(t, dialSim(t, s), 1, 500*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want no answer (deadline exceeded)", err)
	}
	if n := s.Injected()["timeout"]; n != 1 {
		t.Errorf("injected timeouts = %d, want 1", n)
	}
}

func TestFaultException(t *testing.T) {
	s := startFaultySim(t, Faults{Exception: 1})
	resp, err := rawRead(t, dialSim(t, s), 7, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if tid := binary.BigEndian.Uint16(resp); tid != 7 || resp[7] != 0x83 || resp[8] != 0x04 {
		t.Fatalf("response % x: want tid 7, exception 0x83 code 04", resp)
	}
}

func TestFaultGarbage(t *testing.T) {
	s := startFaultySim(t, Faults{Garbage: 1})
	c := dialSim(t, s)
	for tid := uint16(1); tid <= 20; tid++ {
		resp, err := rawRead(t, c, tid, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.BigEndian.Uint16(resp); got == tid {
			t.Fatalf("garbage answer carries the request's transaction id %d", tid)
		}
	}
}

func TestFaultSlow(t *testing.T) {
	const slow = 300 * time.Millisecond
	s := startFaultySim(t, Faults{Slow: slow})
	start := time.Now()
	resp, err := rawRead(t, dialSim(t, s), 9, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < slow { // a lower bound only: never flaky
		t.Errorf("answer after %v, want at least %v", took, slow)
	}
	if binary.BigEndian.Uint16(resp) != 9 || resp[7] != 3 {
		t.Errorf("response % x: want a normal answer to tid 9", resp)
	}
}

func TestFaultHalfOpen(t *testing.T) {
	s := startFaultySim(t, Faults{HalfOpen: true})
	c := dialSim(t, s)
	answered := 0
	for tid := uint16(1); ; tid++ {
		_, err := rawRead(t, c, tid, 2*time.Second)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if answered++; answered > 10 {
			t.Fatal("connection still answers after 10 requests")
		}
	}
	if answered < 3 {
		t.Errorf("went silent after %d answers, want 3..10", answered)
	}
	if s.Clients() != 1 {
		t.Errorf("clients = %d: a half-open connection stays open", s.Clients())
	}
	c.Close()
	waitUntil(t, "the half-open connection is released", func() bool { return s.Clients() == 0 })
	// A new connection answers again.
	if _, err := rawRead(t, dialSim(t, s), 1, 10*time.Second); err != nil {
		t.Fatalf("new connection: %v", err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
