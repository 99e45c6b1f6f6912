package broker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/crypto/bcrypt"

	"github.com/gridbox/gridbox/internal/testenv"
)

func startBroker(t *testing.T, o Options) *Broker {
	t.Helper()
	b, err := Start(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// dial connects a paho client (url like tcp://host:port) and returns the
// CONNECT error, if any.
func dial(t *testing.T, url, id, user, pass string) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4)
	if user != "" {
		o.SetUsername(user).SetPassword(pass)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect %s: timed out", url)
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

// inline subscribes in-process (as the gateway does) and counts messages.
func inline(t *testing.T, b *Broker, filter string) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	if err := b.Server().Subscribe(filter, 1, func(*mqtt.Client, packets.Subscription, packets.Packet) { n.Add(1) }); err != nil {
		t.Fatal(err)
	}
	return &n
}

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestAnonymousRule(t *testing.T) {
	users := []User{{Name: "u", Password: "pw", Access: AccessRead}}
	cases := []struct {
		name string
		o    Options
		want bool
	}{
		{"loopback without users", Options{Listen: "127.0.0.1:0"}, true},
		{"all interfaces without users", Options{Listen: ":0"}, false},
		{"all interfaces, allow_anonymous", Options{Listen: ":0", AllowAnonymous: true}, true},
		{"loopback with users", Options{Listen: "127.0.0.1:0", Users: users}, false},
		{"users and allow_anonymous", Options{Listen: "127.0.0.1:0", Users: users, AllowAnonymous: true}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := startBroker(t, c.o)
			_, err := dial(t, "tcp://"+b.Addr(), "anon", "", "")
			if (err == nil) != c.want {
				t.Fatalf("anonymous connect: err %v, want allowed=%v", err, c.want)
			}
			if !c.want && b.auth.badCredentials.Load() != 1 {
				t.Errorf("refusal not counted: %d", b.auth.badCredentials.Load())
			}
		})
	}
}

// TestUsersWithMosquitto is acceptance 1 at the broker: mosquitto_sub
// without credentials is refused, a read user receives values but its /set
// publishes are refused and counted, a write user's are delivered.
func TestUsersWithMosquitto(t *testing.T) {
	sub, pub := testenv.Tool(t, "mosquitto_sub"), testenv.Tool(t, "mosquitto_pub")
	b := startBroker(t, Options{Listen: "127.0.0.1:0", Users: []User{
		{Name: "reader", PasswordHash: hash(t, "r-secret"), Access: AccessRead},
		{Name: "writer", Password: "w-secret", Access: AccessWrite},
	}})
	host, port, _ := net.SplitHostPort(b.Addr())
	if err := b.Server().Publish("gridbox/home/pv/power", []byte(`{"value":1200}`), true, 1); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sub, "-h", host, "-p", port, "-t", "gridbox/#", "-C", "1", "-W", "5").CombinedOutput()
	if err == nil || !strings.Contains(strings.ToLower(string(out)), "not authori") {
		t.Fatalf("mosquitto_sub without credentials: err %v, output %q; want refused (not authorised)", err, out)
	}
	out, err = exec.Command(sub, "-h", host, "-p", port, "-u", "reader", "-P", "wrong", "-t", "gridbox/#", "-C", "1", "-W", "5").CombinedOutput()
	if err == nil {
		t.Fatalf("mosquitto_sub with a wrong password was accepted: %q", out)
	}
	out, err = exec.Command(sub, "-h", host, "-p", port, "-u", "reader", "-P", "r-secret", "-t", "gridbox/#", "-C", "1", "-W", "10", "-v").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `gridbox/home/pv/power {"value":1200}`) {
		t.Fatalf("read user: err %v, output %q", err, out)
	}
	sets := inline(t, b, "gridbox/+/+/+/set")
	for _, qos := range []string{"0", "1"} {
		if out, err := exec.Command(pub, "-h", host, "-p", port, "-u", "reader", "-P", "r-secret", "-q", qos,
			"-t", "gridbox/home/wallbox/current/set", "-m", "16").CombinedOutput(); err != nil && qos == "0" {
			t.Fatalf("mosquitto_pub as reader: %v %s", err, out)
		}
	}
	testenv.Eventually(t, 10*time.Second, "both refused publishes counted", func() bool { return b.PublishesRefused() == 2 })
	if out, err := exec.Command(pub, "-h", host, "-p", port, "-u", "writer", "-P", "w-secret", "-q", "1",
		"-t", "gridbox/home/wallbox/current/set", "-m", "16").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub as writer: %v %s", err, out)
	}
	testenv.Eventually(t, 10*time.Second, "the write user's /set delivered", func() bool { return sets.Load() == 1 })
	if sets.Load() != 1 || b.PublishesRefused() != 2 {
		t.Fatalf("deliveries %d (want 1, the writer's), refused %d (want 2)", sets.Load(), b.PublishesRefused())
	}
}

func TestTLSWithMosquittoSub(t *testing.T) {
	sub := testenv.Tool(t, "mosquitto_sub")
	pki := newTestPKI(t)
	for _, both := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls.listen=%v", both), func(t *testing.T) {
			o := Options{Listen: "127.0.0.1:0", TLS: pki.serverConfig(t)}
			if both {
				o.TLSListen = "127.0.0.1:0"
			}
			b := startBroker(t, o)
			if err := b.Server().Publish("gridbox/t", []byte("21.5"), true, 1); err != nil {
				t.Fatal(err)
			}
			tlsAddr := b.Addr()
			if both {
				tlsAddr = b.Addrs()[ListenerTLS]
				if _, err := dial(t, "tcp://"+b.Addr(), "plain", "", ""); err != nil {
					t.Fatalf("plain listener next to the TLS one: %v", err)
				}
			} else if _, err := dial(t, "tcp://"+b.Addr(), "plain", "", ""); err == nil {
				t.Fatal("plain MQTT accepted on a listener that speaks TLS")
			}
			host, port, _ := net.SplitHostPort(tlsAddr)
			out, err := exec.Command(sub, "-h", host, "-p", port, "--cafile", pki.caFile, "-t", "gridbox/t", "-C", "1", "-W", "10").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "21.5" {
				t.Fatalf("mosquitto_sub --cafile: err %v, output %q", err, out)
			}
		})
	}
}

func TestClientIDAndUserNameSyntax(t *testing.T) {
	b := startBroker(t, Options{Listen: "127.0.0.1:0", Users: []User{{Name: "w", Password: "pw", Access: AccessWrite}}})
	for _, c := range []struct{ id, user string }{{"a/b", "w"}, {"a+b", "w"}, {"a#", "w"}, {"ok", "w/x"}, {"ok", "w+"}} {
		if _, err := dial(t, "tcp://"+b.Addr(), c.id, c.user, "pw"); err == nil {
			t.Errorf("client id %q user %q accepted", c.id, c.user)
		}
	}
	if got := b.auth.badClientID.Load(); got != 5 {
		t.Errorf("bad_client_id refusals %d, want 5", got)
	}
	if _, err := dial(t, "tcp://"+b.Addr(), "ok", "w", "pw"); err != nil {
		t.Fatalf("valid client: %v", err)
	}
}

func TestTopicPatterns(t *testing.T) {
	b := startBroker(t, Options{Listen: "127.0.0.1:0", Users: []User{
		{Name: "pv", Password: "pw", Access: AccessWrite, Topics: []string{"gridbox/home/pv/#", "clients/%u/+"}},
	}})
	c, err := dial(t, "tcp://"+b.Addr(), "pv1", "pv", "pw")
	if err != nil {
		t.Fatal(err)
	}
	for filter, want := range map[string]byte{"gridbox/home/pv/#": 1, "gridbox/home/pv/power": 1, "gridbox/#": 0x80, "clients/pv/x": 1, "clients/other/x": 0x80, "$SYS/#": 0x80} {
		tok := c.Subscribe(filter, 1, nil)
		tok.WaitTimeout(10 * time.Second)
		got := tok.(*paho.SubscribeToken).Result()[filter]
		if got != want {
			t.Errorf("subscribe %q: granted %#x, want %#x", filter, got, want)
		}
	}
	allowed, refused := inline(t, b, "gridbox/home/pv/limit/set"), inline(t, b, "gridbox/home/wallbox/limit/set")
	c.Publish("gridbox/home/wallbox/limit/set", 0, false, "1").WaitTimeout(10 * time.Second)
	c.Publish("gridbox/home/pv/limit/set", 0, false, "1").WaitTimeout(10 * time.Second)
	testenv.Eventually(t, 10*time.Second, "the allowed publish delivered", func() bool { return allowed.Load() == 1 })
	if refused.Load() != 0 || b.PublishesRefused() != 1 {
		t.Errorf("publish outside the patterns: delivered %d, refused %d", refused.Load(), b.PublishesRefused())
	}
}

func TestFilterWithin(t *testing.T) {
	for _, c := range []struct {
		f, p string
		want bool
	}{
		{"a/b", "a/b", true}, {"a/b", "a/+", true}, {"a/b/c", "a/#", true}, {"a", "a/#", true},
		{"a/+", "a/+", true}, {"a/#", "a/#", true}, {"a/#", "a/+", false}, {"a/+", "a/b", false},
		{"#", "a/#", false}, {"a/b/c", "a/+", false}, {"a", "a/+", false}, {"b/c", "a/#", false}, {"x", "#", true},
	} {
		if got := filterWithin(c.f, c.p); got != c.want {
			t.Errorf("filterWithin(%q, %q) = %v, want %v", c.f, c.p, got, c.want)
		}
	}
}

func TestRetainedNeedsAdmin(t *testing.T) {
	b := startBroker(t, Options{Listen: "127.0.0.1:0", Users: []User{
		{Name: "w", Password: "pw", Access: AccessWrite}, {Name: "a", Password: "pw", Access: AccessAdmin},
	}})
	got := inline(t, b, "x/#")
	w, err := dial(t, "tcp://"+b.Addr(), "w", "w", "pw")
	if err != nil {
		t.Fatal(err)
	}
	a, err := dial(t, "tcp://"+b.Addr(), "a", "a", "pw")
	if err != nil {
		t.Fatal(err)
	}
	w.Publish("x/w", 1, true, "1").WaitTimeout(10 * time.Second)
	a.Publish("x/a", 1, true, "1").WaitTimeout(10 * time.Second)
	testenv.Eventually(t, 10*time.Second, "the admin's retained publish", func() bool { return got.Load() == 1 })
	if b.PublishesRefused() != 1 {
		t.Errorf("write user's retained publish: refused %d, want 1", b.PublishesRefused())
	}
}

func TestRateLimits(t *testing.T) {
	// A rate of one per 1000 s: only the burst passes within the test.
	b := startBroker(t, Options{Listen: "127.0.0.1:0", ConnectRate: 0.001, ConnectBurst: 2, MessageRate: 0.001, MessageBurst: 5})
	got := inline(t, b, "r/#")
	c, err := dial(t, "tcp://"+b.Addr(), "c1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if tok := c.Publish("r/x", 1, false, fmt.Sprint(i)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d not acknowledged: %v", i, tok.Error())
		}
	}
	testenv.Eventually(t, 10*time.Second, "5 messages delivered", func() bool { return got.Load() == 5 })
	if n := b.auth.rateLimited.Load(); n != 15 {
		t.Errorf("rate-limited publishes %d, want 15", n)
	}
	if _, err := dial(t, "tcp://"+b.Addr(), "c2", "", ""); err != nil {
		t.Fatalf("second connection (within the burst): %v", err)
	}
	if _, err := dial(t, "tcp://"+b.Addr(), "c3", "", ""); err == nil {
		t.Fatal("third connection beyond the connect rate accepted")
	}
	if b.guard.connRate.Load() != 1 {
		t.Errorf("connect_rate refusals %d, want 1", b.guard.connRate.Load())
	}
}

func TestBadUsers(t *testing.T) {
	for _, c := range []struct {
		u    User
		want string
	}{
		{User{Name: "", Password: "x", Access: AccessRead}, "without a name"},
		{User{Name: "a/b", Password: "x", Access: AccessRead}, "must not contain"},
		{User{Name: "a", Access: AccessRead}, "exactly one"},
		{User{Name: "a", Password: "x", PasswordHash: "y", Access: AccessRead}, "exactly one"},
		{User{Name: "a", PasswordHash: "plain", Access: AccessRead}, "not a bcrypt hash"},
		{User{Name: "a", Password: "x"}, "access"},
		{User{Name: "a", Password: "x", Access: AccessRead, Topics: []string{"a/#/b"}}, "not a valid"},
	} {
		if _, err := Start(Options{Listen: "127.0.0.1:0", Users: []User{c.u}}, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.u, err, c.want)
		}
	}
}

// TestWebSocket: a paho client over ws:// subscribes and receives; a
// browser handshake from a foreign origin is refused unless allowed.
func TestWebSocket(t *testing.T) {
	b := startBroker(t, Options{Listen: "127.0.0.1:0", WebSocketListen: "127.0.0.1:0", WebSocketOrigins: []string{"dash.example"},
		Users: []User{{Name: "browser", Password: "pw", Access: AccessRead}}})
	ws := b.Addrs()[ListenerWS]
	if _, err := dial(t, "ws://"+ws+"/mqtt", "anon", "", ""); err == nil {
		t.Fatal("anonymous WebSocket client accepted with users configured")
	}
	c, err := dial(t, "ws://"+ws+"/mqtt", "browser1", "browser", "pw")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	if tok := c.Subscribe("gridbox/#", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if err := b.Server().Publish("gridbox/x", []byte("42"), false, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "42" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message over WebSocket")
	}
	for origin, want := range map[string]int{"https://evil.example": 403, "https://dash.example": 101} {
		req, _ := http.NewRequest("GET", "http://"+ws+"/mqtt", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Header.Set("Sec-WebSocket-Protocol", "mqtt")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("origin %s: status %d, want %d", origin, resp.StatusCode, want)
		}
	}
}

// BenchmarkACLCheck is the cost the auth hook adds to every delivery to a
// user with topic patterns (mochi asks per message and subscriber).
func BenchmarkACLCheck(b *testing.B) {
	h, err := newAuthHook(nil, []User{{Name: "u", Password: "pw", Access: AccessRead, Topics: []string{"gridbox/home/pv/#", "clients/%u/#"}}},
		func(string) bool { return false }, nil)
	if err != nil {
		b.Fatal(err)
	}
	cl := &mqtt.Client{ID: "c"}
	cl.Properties.Username = []byte("u")
	b.ReportAllocs()
	for b.Loop() {
		if !h.OnACLCheck(cl, "gridbox/home/pv/ac_power", false) {
			b.Fatal("refused")
		}
	}
}

// TestClientCertificates: with client CAs (mqtt.tls.client_ca_file) a
// client without a certificate fails the handshake; mosquitto_sub with
// --cert/--key signed by the CA reads.
func TestClientCertificates(t *testing.T) {
	sub := testenv.Tool(t, "mosquitto_sub")
	pki := newTestPKI(t)
	cfg := pki.serverConfig(t)
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(pki.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(ca)
	cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	b := startBroker(t, Options{Listen: "127.0.0.1:0", TLS: cfg})
	if err := b.Server().Publish("gridbox/t", []byte("ok"), true, 1); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(b.Addr())
	args := []string{"-h", host, "-p", port, "--cafile", pki.caFile, "-t", "gridbox/t", "-C", "1", "-W", "5"}
	if out, err := exec.Command(sub, args...).CombinedOutput(); err == nil {
		t.Fatalf("mosquitto_sub without a client certificate read: %q", out)
	}
	out, err := exec.Command(sub, append(args, "--cert", pki.clientCert, "--key", pki.clientKey)...).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("mosquitto_sub with a client certificate: %v %q", err, out)
	}
}

// TestStartWarnings: a network listener that refuses every anonymous
// client without users, or accepts them through allow_anonymous, is
// named in a warning at start; a loopback listener without users is not.
func TestStartWarnings(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Listen: ":0"}, "refuses anonymous clients"},
		{Options{Listen: ":0", AllowAnonymous: true}, "allow_anonymous: the embedded MQTT broker accepts anonymous clients"},
		{Options{Listen: "127.0.0.1:0"}, ""},
	} {
		var logs testenv.Buffer
		b, err := Start(c.o, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		warned := strings.Contains(logs.String(), "level=WARN")
		if (c.want == "") == warned || !strings.Contains(logs.String(), c.want) {
			t.Errorf("%+v: log\n%s\nwant a warning containing %q", c.o, logs.String(), c.want)
		}
	}
}
