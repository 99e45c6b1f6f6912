package uplink_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/internal/mqttcli"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/sink"
	"github.com/gridbox/gridbox/uplink"
	"github.com/gridbox/gridbox/uplink/uplinktest"
	"github.com/prometheus/client_golang/prometheus"
)

// dlCtl is the controller `gridbox run` offers, recording what it was asked.
type dlCtl struct {
	mu      sync.Mutex
	applied []string
	reloads int
}

func (c *dlCtl) ApplyConfig(_ context.Context, data []byte) (string, []string, func(), error) {
	if strings.Contains(string(data), "bad") {
		return "", []string{"site: \"bad id\" is not a slug"}, nil, nil
	}
	return "cfg7", nil, func() { c.mu.Lock(); c.applied = append(c.applied, string(data)); c.mu.Unlock() }, nil
}
func (c *dlCtl) Reload() error              { c.mu.Lock(); c.reloads++; c.mu.Unlock(); return nil }
func (c *dlCtl) RestartDevice(string) error { return nil }
func (c *dlCtl) ConfigID() string           { return "cfg6" }
func (c *dlCtl) state() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.applied), c.reloads
}

// TestDataloggerDownlink: with downlink: datalogger and topic_root
// a/<node_id>, the back end's d/config and d/command (the datalogger's
// bridged topics) arrive over the uplink connection and are answered the
// datalogger's way, as text on u/log/msg and u/command_response.
func TestDataloggerDownlink(t *testing.T) {
	m := uplinktest.StartMosquitto(t)
	cfg := testConfig(t, "mqtt://"+m.Addr)
	cfg.TopicRoot, cfg.Downlink, cfg.RemoteConfig = "a/node1", uplink.DownlinkDatalogger, true
	cfg.Commands = []string{"ping", "reload"}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	ctl := &dlCtl{}
	b := newBus(t)
	ctx, cancel := context.WithCancel(uplink.WithController(context.Background(), ctl))
	s, err := uplink.Kind().New(ctx, cfg, sink.Env{Name: "prod", Site: "site1", Bus: b, Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry()})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	sub := b.Subscribe("prod", bus.Options{Size: 1 << 10})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, sub) }()
	t.Cleanup(func() { cancel(); <-done; _ = s.Close() })

	out := mqttcli.Subscribe(t, m.Addr, nil, "a/node1/u/#")
	answers := func(topic string) []string {
		var a []string
		for _, msg := range out.Msgs() {
			if msg.Topic == topic {
				a = append(a, msg.Payload)
			}
		}
		return a
	}
	testenv.Eventually(t, 30*time.Second, "answers to a d/command list", func() bool {
		if len(answers("a/node1/u/command_response")) == 0 {
			_ = mqttcli.Publish(t, m.Addr, "a/node1/d/command", `["ping","read_now","snap_refresh","bogus","reload"]`)
			time.Sleep(300 * time.Millisecond) // pace the retries until the uplink is subscribed
		}
		return len(answers("a/node1/u/command_response")) >= 5
	})
	got := answers("a/node1/u/command_response")
	for i, w := range []string{"ping: pong ", "read_now: not allowed", "snap_refresh: not supported", "bogus: unknown command", "reload: reloading"} {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("answer %d: %q, want %q…", i, got[i], w)
		}
	}
	testenv.Eventually(t, 10*time.Second, "the reload", func() bool { _, r := ctl.state(); return r >= 1 })

	for _, p := range []string{`{"site": "bad"}`, `{"site": "good"}`} {
		if err := mqttcli.Publish(t, m.Addr, "a/node1/d/config", p); err != nil {
			t.Fatal(err)
		}
	}
	_ = mqttcli.Publish(t, m.Addr, "a/node1/d/command", `"ping"`)
	testenv.Eventually(t, 20*time.Second, "three log messages", func() bool { return len(answers("a/node1/u/log/msg")) >= 3 })
	logs := strings.Join(answers("a/node1/u/log/msg"), "\n") // two topics: their order is not kept
	for _, w := range []string{`d/config refused: site: "bad id"`, "d/config applied: config cfg7", "d/command refused: want a JSON list"} {
		if !strings.Contains(logs, w) {
			t.Errorf("logs %q: no %q", logs, w)
		}
	}
	if n, _ := ctl.state(); n != 1 {
		t.Errorf("%d configs applied, want 1", n)
	}
}
