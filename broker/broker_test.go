package broker

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

func connect(t *testing.T, addr, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", addr, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func TestStartServesTCPAndInline(t *testing.T) {
	b, err := Start(Options{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if strings.HasSuffix(b.Addr(), ":0") {
		t.Fatalf("Addr %s does not name the chosen port", b.Addr())
	}
	got := make(chan string, 4)
	sub := connect(t, b.Addr(), "sub")
	if tok := sub.Subscribe("a/#", 1, func(_ paho.Client, m paho.Message) { got <- m.Topic() + " " + string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	inline := make(chan string, 4)
	if err := b.Server().Subscribe("b/+", 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		inline <- pk.TopicName + " " + string(pk.Payload)
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Server().Publish("a/x", []byte("from inline"), false, 0); err != nil {
		t.Fatal(err)
	}
	pub := connect(t, b.Addr(), "pub")
	pub.Publish("b/y", 1, false, "from tcp").WaitTimeout(10 * time.Second)
	for ch, want := range map[chan string]string{got: "a/x from inline", inline: "b/y from tcp"} {
		select {
		case m := <-ch:
			if m != want {
				t.Errorf("got %q, want %q", m, want)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("no message %q", want)
		}
	}
}

func TestCloseFreesThePort(t *testing.T) {
	b, err := Start(Options{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	c := connect(t, addr, "client")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.IsConnectionOpen() {
		if time.Now().After(deadline) {
			t.Fatal("client still connected after Close")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b2, err := Start(Options{Listen: addr}, nil)
	if err != nil {
		t.Fatalf("port not free after Close: %v", err)
	}
	b2.Close()
}

func TestStartErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Start(Options{Listen: ln.Addr().String()}, nil); err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("taken port: %v", err)
	}
	if _, err := Start(Options{Listen: "nohost:xyz"}, nil); err == nil || !strings.Contains(err.Error(), "nohost:xyz") {
		t.Errorf("bad address: %v", err)
	}
}

func TestAddrOfUnspecifiedHost(t *testing.T) {
	b, err := Start(Options{Listen: ":0", AllowAnonymous: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.HasPrefix(b.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr %s, want 127.0.0.1:<port>", b.Addr())
	}
	connect(t, b.Addr(), "c")
}

func TestMochiLogsAreQuieter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	b, err := Start(Options{Listen: "127.0.0.1:0"}, log)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	out := buf.String()
	if strings.Contains(out, "mochi mqtt starting") || strings.Contains(out, "attached listener") {
		t.Errorf("mochi info logs passed at info level:\n%s", out)
	}
	if !strings.Contains(out, "embedded MQTT broker listening") {
		t.Errorf("own start log missing:\n%s", out)
	}
	buf.Reset()
	dbg := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err = Start(Options{Listen: "127.0.0.1:0"}, dbg)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if !strings.Contains(buf.String(), `level=DEBUG msg="mochi mqtt starting"`) {
		t.Errorf("mochi info log not lowered to debug:\n%s", buf.String())
	}
}
