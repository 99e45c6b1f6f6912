package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/uplink/uplinktest"
)

// remote is the fleet side of a test: it publishes commands and keeps the
// last message of every topic under the site's root.
type remote struct {
	c    mqtt3.Client
	mu   sync.Mutex
	last map[string][]byte
	n    map[string]int
}

func newRemote(t *testing.T, addr, root string) *remote {
	r := &remote{last: map[string][]byte{}, n: map[string]int{}}
	o := mqtt3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("fleet")
	r.c = mqtt3.NewClient(o)
	if tok := r.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	tok := r.c.Subscribe(root+"/#", 1, func(_ mqtt3.Client, m mqtt3.Message) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.last[m.Topic()] = m.Payload()
		r.n[m.Topic()]++
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { r.c.Disconnect(100) })
	return r
}

func (r *remote) get(topic string) ([]byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[topic], r.n[topic]
}

// command publishes a command and waits for its next result.
func (r *remote) command(t *testing.T, topic string, payload string) map[string]any {
	t.Helper()
	_, before := r.get(topic + "/result")
	if tok := r.c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	var res map[string]any
	testenv.Eventually(t, 30*time.Second, "answer on "+topic+"/result", func() bool {
		p, n := r.get(topic + "/result")
		return n > before && json.Unmarshal(p, &res) == nil
	})
	return res
}

func (r *remote) meta(t *testing.T) map[string]any {
	p, _ := r.get("cfgsite/meta")
	var m map[string]any
	_ = json.Unmarshal(p, &m)
	return m
}

func downlinkConfig(broker, dir string, batch int) string {
	return fmt.Sprintf(`site: cfgsite
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q}
uplink:
  - {name: prod, broker: "mqtt5://%s", dir: %q, remote_config: true, batch_size: %d}
`, filepath.Join(dir, "data"), broker, filepath.Join(dir, "queue"), batch)
}

// TestDownlinkConfigAndCommands (acceptance 4): a malformed config on
// <root>/cmd/config is refused with every error listed and the running
// config untouched; a valid one (JSON) is applied without a restart of the
// process; an unknown command is refused.
func TestDownlinkConfigAndCommands(t *testing.T) {
	m := uplinktest.StartMosquitto(t)
	r := newRemote(t, m.Addr, "cfgsite")
	dir := t.TempDir()
	path := filepath.Join(dir, "gridbox.yaml")
	orig := downlinkConfig(m.Addr, dir, 100)
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	gw := spawn(t, "run", "-c", path)
	var id0 string
	testenv.Eventually(t, 30*time.Second, "retained meta with a config id", func() bool {
		id0, _ = r.meta(t)["config_id"].(string)
		return id0 != ""
	})
	if meta := r.meta(t); meta["version"] != version || meta["arch"] == "" || meta["started"] == "" {
		t.Fatalf("meta %v", meta)
	}

	if res := r.command(t, "cfgsite/cmd/ping", `{"id":"p1"}`); res["ok"] != true || res["id"] != "p1" {
		t.Fatalf("ping: %v", res)
	}
	res := r.command(t, "cfgsite/cmd/format-disk", `{}`)
	if res["ok"] != false || !strings.Contains(fmt.Sprint(res["errors"]), "unknown command") {
		t.Fatalf("unknown command: %v", res)
	}

	bad := "site: cfgsite\nbogus: 1\nuplink:\n  - {name: prod, broker: \"ftp://x\", window: 0}\ndevices:\n  - {id: m1, driver: nosuch}\n"
	res = r.command(t, "cfgsite/cmd/config", bad)
	errs, _ := res["errors"].([]any)
	if res["ok"] != false || len(errs) < 4 {
		t.Fatalf("malformed config: want ok false and every error, got %v", res)
	}
	for _, want := range []string{"bogus", "uplink[0].broker", "uplink[0].window", "devices[0]"} {
		if !strings.Contains(fmt.Sprint(errs), want) {
			t.Errorf("errors do not name %s: %v", want, errs)
		}
	}
	t.Logf("refused: %v", errs)
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Fatalf("config file changed by a refused config:\n%s", b)
	}
	if res := r.command(t, "cfgsite/cmd/ping", `{}`); res["ok"] != true {
		t.Fatalf("gateway not running after a refused config: %v", res)
	}

	js, _ := json.Marshal(map[string]any{
		"site": "cfgsite", "http": map[string]any{"listen": "127.0.0.1:0", "auth": "none"},
		"mqtt":   map[string]any{"broker": "embedded", "listen": "127.0.0.1:0"},
		"store":  map[string]any{"path": filepath.Join(dir, "data")},
		"uplink": []any{map[string]any{"name": "prod", "broker": "mqtt5://" + m.Addr, "dir": filepath.Join(dir, "queue"), "remote_config": true, "batch_size": 50}},
	})
	res = r.command(t, "cfgsite/cmd/config", string(js))
	if res["ok"] != true || res["config_id"] == "" || res["config_id"] == id0 {
		t.Fatalf("valid config: %v", res)
	}
	testenv.Eventually(t, 30*time.Second, "meta with the new config id", func() bool {
		return r.meta(t)["config_id"] == res["config_id"]
	})
	if b, _ := os.ReadFile(path); string(b) != string(js) {
		t.Fatalf("config file not replaced:\n%s", b)
	}
	if gw.cmd.ProcessState != nil {
		t.Fatal("the gateway process exited")
	}
	if res := r.command(t, "cfgsite/cmd/ping", `{}`); res["ok"] != true {
		t.Fatalf("gateway not answering after the new config: %v", res)
	}
	if res := r.command(t, "cfgsite/cmd/read-now", `{}`); res["ok"] != true {
		t.Fatalf("read-now: %v", res)
	}
	if res := r.command(t, "cfgsite/cmd/restart-device", `{"device":"nosuch"}`); res["ok"] != false {
		t.Fatalf("restart-device of an unknown device: %v", res)
	}
	_, metas := r.get("cfgsite/meta")
	if res := r.command(t, "cfgsite/cmd/reload", `{}`); res["ok"] != true {
		t.Fatalf("reload: %v", res)
	}
	testenv.Eventually(t, 30*time.Second, "meta published again after the reload", func() bool {
		_, n := r.get("cfgsite/meta")
		return n > metas
	})
	if res := r.command(t, "cfgsite/cmd/ping", `{}`); res["ok"] != true {
		t.Fatalf("gateway not answering after reload: %v", res)
	}
}
