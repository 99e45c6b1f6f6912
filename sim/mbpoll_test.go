package sim

import (
	"context"
	"maps"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
)

// mbpoll runs the mbpoll Modbus master once against addr with args and
// returns the values it printed by reference ("[30776]: 0"), its combined
// output and its error.
func mbpoll(t *testing.T, addr string, args ...string) (map[string]string, string, error) {
	t.Helper()
	bin := testenv.Tool(t, "mbpoll")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Options may follow the host; write values follow it anyway.
	full := append([]string{"-m", "tcp", "-1", "-o", "5", "-p", port, host}, args...)
	out, err := exec.CommandContext(ctx, bin, full...).CombinedOutput()
	vals := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(\S+)`).FindAllStringSubmatch(string(out), -1) {
		vals[m[1]] = m[2]
	}
	return vals, string(out), err
}

// wantValues fails unless mbpoll printed exactly want.
func wantValues(t *testing.T, what string, got map[string]string, out string, err error, want map[string]string) {
	t.Helper()
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("%s: mbpoll printed %v (err %v), want %v\n%s", what, got, err, want, out)
	}
}

// TestMbpollReadsSMA: an independent master reads the registers of docs/simulators.md
// (mbpoll references are 1-based: -r 30776 is protocol address 30775).
func TestMbpollReadsSMA(t *testing.T) {
	s := startTest(t, "sma-stp")
	vals, out, err := mbpoll(t, s.Addr(), "-a", "3", "-r", "30776", "-c", "2", "-t", "4")
	wantValues(t, "AC power (FC 3)", vals, out, err, map[string]string{"30776": "0", "30777": "12345"})

	vals, out, err = mbpoll(t, s.Addr(), "-a", "3", "-0", "-r", "30775", "-c", "2", "-t", "3")
	wantValues(t, "AC power (FC 4, 0-based)", vals, out, err, map[string]string{"30775": "0", "30776": "12345"})

	vals, out, err = mbpoll(t, s.Addr(), "-a", "3", "-r", "30530", "-t", "4:int", "-B")
	wantValues(t, "total yield as int32", vals, out, err, map[string]string{"30530": "8106606"})

	vals, out, err = mbpoll(t, s.Addr(), "-a", "3", "-r", "30058", "-c", "2", "-t", "4")
	wantValues(t, "serial number", vals, out, err, map[string]string{"30058": "18838", "30059": "722"})
}

func TestMbpollSeesExceptions(t *testing.T) {
	s := startTest(t, "sma-stp")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown address", []string{"-a", "3", "-r", "30056", "-c", "2"}, "Illegal data address"},
		{"read spanning an unknown address", []string{"-a", "3", "-r", "30058", "-c", "4"}, "Illegal data address"},
		{"wrong unit id", []string{"-a", "1", "-r", "30776", "-c", "2"}, "failed to respond"},
	}
	for _, tc := range tests {
		vals, out, err := mbpoll(t, s.Addr(), tc.args...)
		if err == nil || len(vals) != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: mbpoll err %v, values %v, want a failure with %q\n%s", tc.name, err, vals, tc.want, out)
		}
	}
}

func TestMbpollDemoRoom(t *testing.T) {
	s := startTest(t, "demo-room")
	vals, out, err := mbpoll(t, s.Addr(), "-a", "1", "-r", "2", "-t", "3:hex")
	wantValues(t, "temperature 21.0", vals, out, err, map[string]string{"2": "0x404D"})

	_, out, err = mbpoll(t, s.Addr(), "-a", "1", "-r", "2", "-t", "4:hex", "0x0051") // write 40.0
	if err != nil {
		t.Fatalf("mbpoll write: %v\n%s", err, out)
	}
	vals, out, err = mbpoll(t, s.Addr(), "-a", "1", "-r", "2", "-t", "4:hex")
	wantValues(t, "setpoint 40 clipped to 30", vals, out, err, map[string]string{"2": "0x804F"})
}
