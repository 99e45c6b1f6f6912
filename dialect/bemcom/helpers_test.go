package bemcom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/sim"
)

const (
	readToken  = "bemcom-read-token"
	writeToken = "bemcom-write-token"
)

// rig is a gateway with the embedded broker, a store, token auth and the
// BEMCom dialect, and a simulated demo room over Modbus TCP as device "room".
type rig struct {
	gw   *gateway.Gateway
	mqtt string
	http string
}

func start(t *testing.T, bemcom string, extra ...string) *rig {
	t.Helper()
	s, err := sim.Start(context.Background(), "demo-room", "127.0.0.1:0", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	dir := t.TempDir()
	src := fmt.Sprintf(`site: t
http:
  listen: "127.0.0.1:0"
  tokens:
    - {token: %q, scope: read}
    - {token: %q, scope: write}
mqtt: {listen: "127.0.0.1:0"}
store: {path: %q}
dialects:
  bemcom: %s
devices:
  - {id: room, driver: modbus, url: "tcp://%s", profile: demo-room, interval: 200ms}
%s`, readToken, writeToken, dir, bemcom, s.Addr(), strings.Join(extra, "\n"))
	cfg, err := config.Parse([]byte(src), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Options{Version: "1.2.3", Profiles: profile.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := gw.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := gw.Wait(); err != nil {
			t.Errorf("gateway stopped with: %v", err)
		}
	})
	return &rig{gw: gw, mqtt: gw.MQTTAddr(), http: "http://" + gw.HTTPAddr()}
}

// do sends a request with a token and decodes the JSON answer into out.
func (r *rig) do(t *testing.T, method, path, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.http+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %q: %v", method, path, data, err)
		}
	}
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	return resp.StatusCode
}

func pub(t *testing.T, addr, topic, payload string, extra ...string) {
	t.Helper()
	if err := mqttcli.Publish(t, addr, topic, payload, extra...); err != nil {
		t.Fatal(err)
	}
}

// decode decodes a message's JSON payload.
func decode(t *testing.T, m mqttcli.Msg, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(m.Payload), out); err != nil {
		t.Fatalf("%s: %q: %v", m.Topic, m.Payload, err)
	}
}

// waitMsg waits for a message on topic that pred accepts and returns it.
func waitMsg(t *testing.T, s *mqttcli.Sub, topic string, pred func(mqttcli.Msg) bool) mqttcli.Msg {
	t.Helper()
	var got mqttcli.Msg
	testenv.Eventually(t, 30*time.Second, "a message on "+topic, func() bool {
		for _, m := range s.Msgs() {
			if m.Topic == topic && (pred == nil || pred(m)) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

func nowMs() int64 { return time.Now().UnixMilli() }
