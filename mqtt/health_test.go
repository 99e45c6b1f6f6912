package mqtt

import (
	"context"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/sink"
)

// startSink builds and runs the mqtt sink of cfg on b.
func startSink(t *testing.T, b *bus.Bus, cfg *Config) *instance {
	t.Helper()
	s, err := newSink(context.Background(), cfg, sink.Env{Name: "mqtt", Site: "test", Version: "t", Bus: b, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	in := s.(*instance)
	ctx, cancel := context.WithCancel(context.Background())
	sub := b.Subscribe("mqtt", bus.Options{States: true, Events: true})
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, sub) }()
	t.Cleanup(func() { cancel(); <-done; in.Close() })
	return in
}

// TestBrokerHealthEmbedded: the embedded broker's state counts a real
// client and the gateway's own messages.
func TestBrokerHealthEmbedded(t *testing.T) {
	sub := needProgram(t, "mosquitto_sub")
	cfg := Kind().NewConfig().(*Config)
	cfg.Broker, cfg.Listen = "embedded", "127.0.0.1:0"
	in := startSink(t, newBus(t, &device{}), cfg)
	eventually(t, "connected", func() bool { return in.BrokerHealth()["connected"] == true })
	h := in.BrokerHealth()
	if h["broker"] != "embedded" || h["address"] != in.Addr() || h["clients"] != int64(0) {
		t.Fatalf("health %v", h)
	}
	host, port, _ := net.SplitHostPort(in.Addr())
	cmd := exec.Command(sub, "-h", host, "-p", port, "-t", "gridbox/#", "-W", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	eventually(t, "the client counted", func() bool { return in.BrokerHealth()["clients"] == int64(1) })
	if n, _ := in.BrokerHealth()["messages_received"].(int64); n == 0 {
		t.Errorf("no messages received: %v", in.BrokerHealth())
	}
}

// TestBrokerHealthExternal: an external broker's address is shown without
// its credentials, and the connection state follows the broker.
func TestBrokerHealthExternal(t *testing.T) {
	m := startMosquitto(t)
	cfg := Kind().NewConfig().(*Config)
	cfg.Broker = "mqtt://gb:s3cret@" + m.addr()
	in := startSink(t, newBus(t, &device{}), cfg)
	eventually(t, "connected", func() bool { return in.BrokerHealth()["connected"] == true })
	h := in.BrokerHealth()
	if h["broker"] != "external" || strings.Contains(h["address"].(string), "s3cret") || !strings.Contains(h["address"].(string), m.addr()) {
		t.Errorf("health %v", h)
	}
	m.kill()
	eventually(t, "disconnected", func() bool { return in.BrokerHealth()["connected"] == false })
}
