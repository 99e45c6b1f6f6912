package broker

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/internal/testenv"
)

// rawConnect opens a TCP connection and sends CONNECT (MQTT 3.1.1 = level
// 4, MQTT 5 = level 5) by hand, returning the connection after CONNACK.
func rawConnect(t *testing.T, addr string, level byte) (net.Conn, *bufio.Reader, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	vh := []byte{0, 4, 'M', 'Q', 'T', 'T', level, 0x02, 0, 60}
	if level == 5 {
		vh = append(vh, 0) // no properties
	}
	body := append(vh, 0, 3, 'r', 'a', 'w')
	if _, err := c.Write(append([]byte{0x10, byte(len(body))}, body...)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	return c, r, readPacket(t, r)
}

// readPacket reads one MQTT packet (fixed header + body).
func readPacket(t *testing.T, r *bufio.Reader) []byte {
	t.Helper()
	first, err := r.ReadByte()
	if err != nil {
		t.Fatalf("read packet: %v", err)
	}
	n, mul := 0, 1
	for {
		b, err := r.ReadByte()
		if err != nil {
			t.Fatalf("read length: %v", err)
		}
		n += int(b&0x7f) * mul
		mul *= 128
		if b&0x80 == 0 {
			break
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatalf("read body: %v", err)
	}
	return append([]byte{first}, body...)
}

// bigPublishHeader is the start of a QoS 0 PUBLISH announcing 20 MB.
func bigPublishHeader() []byte {
	n := 20 << 20
	h := []byte{0x30}
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		h = append(h, b)
		if n == 0 {
			break
		}
	}
	return append(h, 0, 5, 'a', '/', 's', 'e', 't')
}

// TestOversizedPacketDisconnects checks the refusal on the wire: MQTT 5
// clients learn the limit in CONNACK and get DISCONNECT 0x95 "packet too
// large" before the connection closes; MQTT 3.1.1 clients are disconnected.
// The broker reads nothing beyond the fixed header, and counts both.
func TestOversizedPacketDisconnects(t *testing.T) {
	b, err := Start(Options{Listen: "127.0.0.1:0", MaxPacketSize: 1000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	c, r, ack := rawConnect(t, b.Addr(), 5)
	// CONNACK properties hold Maximum Packet Size (0x27) = 1000.
	if ack[0] != 0x20 || !bytes.Contains(ack, []byte{0x27, 0, 0, 0x03, 0xe8}) {
		t.Errorf("MQTT 5 CONNACK % x lacks Maximum Packet Size 1000", ack)
	}
	if _, err := c.Write(bigPublishHeader()); err != nil {
		t.Fatal(err)
	}
	if d := readPacket(t, r); d[0] != 0xe0 || d[1] != 0x95 {
		t.Errorf("MQTT 5: got % x, want DISCONNECT (0xe0) with reason 0x95", d[:min(len(d), 8)])
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("MQTT 5: connection still open after DISCONNECT (%v)", err)
	}

	c, r, ack = rawConnect(t, b.Addr(), 4)
	if !bytes.Equal(ack, []byte{0x20, 0, 0}) { // CONNACK: no session present, accepted
		t.Errorf("MQTT 3.1.1 CONNACK body % x, want 20 00 00", ack)
	}
	if _, err := c.Write(bigPublishHeader()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("MQTT 3.1.1: want the connection closed, got %v", err)
	}
	testenv.Eventually(t, 10*time.Second, "two refusals counted", func() bool { return b.guard.tooLarge.Load() == 2 })
}

// TestMaxClients: the connection beyond the cap gets CONNACK "server
// unavailable" and is counted; the others keep working.
func TestMaxClients(t *testing.T) {
	b, err := Start(Options{Listen: "127.0.0.1:0", MaxClients: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	connect(t, b.Addr(), "one")
	connect(t, b.Addr(), "two")
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("three").SetAutoReconnect(false).SetProtocolVersion(4))
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() == nil {
		t.Fatalf("third client connected (err %v); want refused", tok.Error())
	}
	t.Logf("third client: %v", tok.Error())
	if n := b.guard.busy.Load(); n != 1 {
		t.Errorf("max_clients refusals counted %d, want 1", n)
	}
}
