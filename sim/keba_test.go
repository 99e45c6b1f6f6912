package sim

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/internal/testenv"
)

// TestKEBAWithPythonClient: a Python UDP client gets reports and command
// answers from the simulated station; a current limit shows in report 2
// and drives the power of report 3.
func TestKEBAWithPythonClient(t *testing.T) {
	py := testenv.Tool(t, "python3")
	k, err := StartKEBA(context.Background(), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	script := `
import socket, sys, json
host, port = sys.argv[1].rsplit(":", 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
def ask(m):
    s.sendto(m.encode(), (host, int(port)))
    return s.recvfrom(4096)[0].decode()
print(json.loads(ask("report 1"))["Product"])
print(ask("curr 10000").strip())
print(json.loads(ask("report 2"))["Max curr"])
print(json.loads(ask("report 3"))["P"])
print(ask("curr 99").strip())
`
	raw, err := exec.Command(py, "-c", script, k.Addr()).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, raw)
	}
	want := "KC-P30-ES240022-E0R\nTCH-OK :done\n10000\n6900000\nTCH-ERR :curr 99"
	if got := strings.TrimSpace(string(raw)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
