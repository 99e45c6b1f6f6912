package sim

import (
	"context"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/gridbox/gridbox/internal/testenv"
)

// TestCCUWithPythonClient: Python's xmlrpc.client reads the simulated CCU,
// writes a setpoint (a value outside MIN/MAX is refused with a fault) and
// receives events on a callback it registers with init.
func TestCCUWithPythonClient(t *testing.T) {
	py := testenv.Tool(t, "python3")
	c, err := StartCCU(context.Background(), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := exec.Command(py, "testdata/ccu_client.py", c.URL()).CombinedOutput()
	if err != nil {
		t.Fatalf("ccu_client.py: %v\n%s", err, raw)
	}
	var out struct {
		Addresses      []string
		SetDescription map[string]any `json:"set_description"`
		AfterWrite     float64        `json:"after_write"`
		OutOfRange     any            `json:"out_of_range"`
		Event          []any
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if len(out.Addresses) != 7 || out.SetDescription["MAX"] != 30.5 || out.SetDescription["UNIT"] != "°C" ||
		out.AfterWrite != 22.5 || out.OutOfRange != -4.0 || len(out.Event) != 4 || out.Event[0] != "pytest" {
		t.Fatalf("%s", raw)
	}
}
