package cfos_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
)

// nodeCP runs ocpp/testdata/cp/cp.js, the charge point built on the
// independent ocpp-rpc library in strict mode.
type nodeCP struct {
	t     *testing.T
	in    io.WriteCloser
	mu    sync.Mutex
	lines []map[string]any
	n     int
}

func startNodeCP(t *testing.T, args ...string) *nodeCP {
	t.Helper()
	node := testenv.Tool(t, "node")
	dir, _ := filepath.Abs("../../ocpp/testdata/cp")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ocpp-rpc")); err != nil {
		testenv.Missing(t, "ocpp-rpc is not installed: run npm install in %s", dir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(dir, "cp.js")}, args...)...)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &nodeCP{t: t, in: in}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				c.mu.Lock()
				c.lines = append(c.lines, m)
				c.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		in.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		cancel()
		_ = cmd.Wait()
	})
	return c
}

// find returns the lines match accepts.
func (c *nodeCP) find(match func(map[string]any) bool) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, l := range c.lines {
		if match(l) {
			out = append(out, l)
		}
	}
	return out
}

// call sends an OCPP call and waits for its answer.
func (c *nodeCP) call(action string, params any) map[string]any {
	c.t.Helper()
	c.n++
	id := float64(c.n)
	b, _ := json.Marshal(map[string]any{"call": action, "params": params})
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		c.t.Fatal(err)
	}
	var res map[string]any
	testenv.Eventually(c.t, wait, action+" answered", func() bool {
		got := c.find(func(m map[string]any) bool { return m["result"] == id })
		if len(got) > 0 {
			res = got[0]
		}
		return res != nil
	})
	if res["error"] != nil {
		c.t.Fatalf("%s: %v", action, res["error"])
	}
	ok, _ := res["ok"].(map[string]any)
	return ok
}

func incoming(action string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["incoming"] == action }
}

// TestEnterRFIDAndSessionOverOCPP: enter_rfid for a wallbox that is an
// OCPP connector sends RemoteStartTransaction with the id tag — once,
// though the request is published twice — and the session from plug-in
// to unplug comes out on ta_log with its transaction and energy.
func TestEnterRFIDAndSessionOverOCPP(t *testing.T) {
	ocppAddr := testenv.FreeAddr(t)
	gw := startGateway(t, fmt.Sprintf(`site: test
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q}
ocpp: {listen: %q, charge_points: [{id: CP1}]}
dialects:
  cfos: {root: %s, interval: 200ms, wallboxes: {E1: cp1_1}}
`, t.TempDir(), ocppAddr, root))
	addr := gw.MQTTAddr()
	sub := mqttcli.Subscribe(t, addr, nil, root+"/#")
	cp := startNodeCP(t, "ws://"+ocppAddr+"/ocpp", "CP1", "-")
	testenv.Eventually(t, wait, "the charge point connected", func() bool {
		return len(cp.find(func(m map[string]any) bool { return m["event"] == "open" })) > 0
	})
	cp.call("BootNotification", map[string]any{"chargePointVendor": "ACME", "chargePointModel": "W"})
	cp.call("StatusNotification", map[string]any{"connectorId": 1, "errorCode": "NoError", "status": "Preparing"})
	testenv.Eventually(t, wait, "get/E1 in state Preparing", func() bool { return state(sub, "E1")["state"] == "Preparing" })

	for range 2 {
		if err := mqttcli.Publish(t, addr, root+"/api/cmd=enter_rfid&rfid=5678&dev_id=E1", ""); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, wait, "two answers", func() bool { return len(answers(sub)) == 2 })
	a := answers(sub)
	if a[0]["ok"] != true || a[0]["unchanged"] != nil || a[1]["ok"] != true || a[1]["unchanged"] != true {
		t.Fatalf("api_res = %v, want ok, then ok unchanged", a)
	}
	starts := cp.find(incoming("RemoteStartTransaction"))
	if len(starts) != 1 {
		t.Fatalf("%d RemoteStartTransaction calls, want 1", len(starts))
	}
	if p := starts[0]["params"].(map[string]any); p["idTag"] != "5678" || p["connectorId"] != 1.0 {
		t.Fatalf("RemoteStartTransaction %v, want idTag 5678 on connector 1", p)
	}

	now := func() string { return time.Now().UTC().Format(time.RFC3339) }
	tx := cp.call("StartTransaction", map[string]any{"connectorId": 1, "idTag": "5678", "meterStart": 1000, "timestamp": now()})
	cp.call("StatusNotification", map[string]any{"connectorId": 1, "errorCode": "NoError", "status": "Charging"})
	cp.call("StopTransaction", map[string]any{"transactionId": tx["transactionId"], "meterStop": 3500, "timestamp": now()})
	cp.call("StatusNotification", map[string]any{"connectorId": 1, "errorCode": "NoError", "status": "Available"})
	var ta map[string]any
	testenv.Eventually(t, wait, "the session on ta_log", func() bool {
		m, ok := sub.Last(root + "/ta_log")
		return ok && json.Unmarshal([]byte(m.Payload), &ta) == nil
	})
	if ta["dev_id"] != "E1" || ta["device"] != "cp1_1" || ta["energy_wh"] != 2500.0 || ta["transaction_id"] != tx["transactionId"] {
		t.Fatalf("ta_log = %v, want E1, 2500 Wh, transaction %v", ta, tx["transactionId"])
	}
	if l := sub.Msgs(); !strings.Contains(fmt.Sprint(l), "vehicle unplugged") {
		t.Errorf("no log line for the unplug")
	}
}
