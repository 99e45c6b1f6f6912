package mqtt

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/broker"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// decodeConfig reads an `mqtt:` section as the gateway does: defaults,
// strict keys, ${ENV} secrets, Validate.
func decodeConfig(t *testing.T, src string, env map[string]string) (*Config, []config.FieldError) {
	t.Helper()
	c, err := config.Parse([]byte(src), "g.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	cfg := Kind().NewConfig().(*Config)
	errs := config.Decode(c.Section("mqtt").Node, cfg, "mqtt")
	return cfg, append(errs, cfg.Validate()...)
}

// TestBrokerUsersAndTLS is acceptance 1 end to end: the config's users and
// TLS listener, the publisher's values and /set writes, the real Mosquitto
// clients. Without credentials mosquitto_sub is refused; the read user
// receives values, its /set is refused and counted and never reaches the
// device; the write user's /set is applied; mosquitto_sub --cafile reads
// over TLS.
func TestBrokerUsersAndTLS(t *testing.T) {
	sub, pub := needProgram(t, "mosquitto_sub"), needProgram(t, "mosquitto_pub")
	ca, cert, key := writePKI(t, t.TempDir())
	src := fmt.Sprintf(`mqtt:
  listen: "127.0.0.1:0"
  users:
    - {name: dashboard, password: "${DASH_PW}", access: read}
    - {name: homeassistant, password: "${HA_PW}", access: write}
  tls: {cert_file: %q, key_file: %q, listen: "127.0.0.1:0"}
`, cert, key)
	cfg, errs := decodeConfig(t, src, map[string]string{"DASH_PW": "d-pw", "HA_PW": "h-pw"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	bo, err := cfg.brokerOptions()
	if err != nil {
		t.Fatal(err)
	}
	br, err := broker.Start(bo, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	host, port, _ := net.SplitHostPort(br.Addr())
	dev := &device{}
	b := newBus(t, dev)
	b.Publish(model.Value{Device: "room", Name: "temperature", Value: 21.5, Time: 1700000000000, Quality: model.Good})
	startPublisher(t, b, Options{Broker: "embedded", Embedded: br})
	const value = `gridbox/room/temperature {"value":21.5,"timestamp":1700000000000,"quality":"good"}`
	read := func(args ...string) (string, error) {
		base := []string{"-h", host, "-p", port, "-t", "gridbox/room/temperature", "-v", "-C", "1", "-W", "5"}
		out, err := exec.Command(sub, append(base, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := read(); err == nil || !strings.Contains(strings.ToLower(out), "not authori") {
		t.Fatalf("mosquitto_sub without credentials: %v %q, want refused", err, out)
	}
	eventually(t, "the read user receives the value", func() bool {
		out, _ := read("-u", "dashboard", "-P", "d-pw")
		return strings.Contains(out, value)
	})
	set := func(user, pw string) {
		if out, err := exec.Command(pub, "-h", host, "-p", port, "-u", user, "-P", pw,
			"-t", "gridbox/room/setpoint/set", "-m", "26").CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_pub as %s: %v %s", user, err, out)
		}
	}
	set("dashboard", "d-pw")
	eventually(t, "the read user's /set refused and counted", func() bool { return br.PublishesRefused() == 1 })
	set("homeassistant", "h-pw")
	eventually(t, "the write user's /set applied", func() bool { return len(dev.writes()) == 1 })
	if w := dev.writes(); w[0] != 26.0 || br.PublishesRefused() != 1 {
		t.Fatalf("device writes %v (want only the write user's 26), refused %d", w, br.PublishesRefused())
	}
	tlsHost, tlsPort, _ := net.SplitHostPort(br.Addrs()[broker.ListenerTLS])
	out, err := exec.Command(sub, "-h", tlsHost, "-p", tlsPort, "--cafile", ca, "-u", "dashboard", "-P", "d-pw",
		"-t", "gridbox/room/temperature", "-v", "-C", "1", "-W", "10").CombinedOutput()
	if err != nil || !strings.Contains(string(out), value) {
		t.Fatalf("mosquitto_sub --cafile over TLS: %v %q", err, out)
	}
}

func TestSecurityConfigErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"mqtt:\n  users: [{name: a, access: read}]\n", "users[0]: user \"a\": set exactly one of password_hash"},
		{"mqtt:\n  users: [{name: a, password: x, access: root}]\n", "access \"root\": want read, write or admin"},
		{"mqtt:\n  users: [{name: a, password_hash: nope, access: read}]\n", "not a bcrypt hash"},
		{"mqtt:\n  users: [{name: a, password: x, access: read}, {name: a, password: y, access: read}]\n", "users[1].name: \"a\" is configured twice"},
		{"mqtt:\n  users: [{name: a, password: x, access: read, topics: [\"a/#/b\"]}]\n", "not a valid MQTT topic filter"},
		{"mqtt:\n  users: [{name: a, pasword: x}]\n", "mqtt.users[0].pasword: unknown key"},
		{"mqtt:\n  tls: {cert_file: a.pem}\n", "tls: needs cert_file and key_file"},
		{"mqtt:\n  tls: {cert_file: a.pem, key_file: a.key, listen: nope}\n", "tls.listen"},
		{"mqtt:\n  websocket: {listen: nope}\n", "websocket.listen"},
		{"mqtt:\n  websocket: {listen: \":8083\", tls: true}\n", "websocket.tls: needs mqtt.tls"},
		{"mqtt:\n  rate_limits: {messages_per_second: -1}\n", "rate_limits: must not be negative"},
		{"mqtt:\n  broker: mqtt://127.0.0.1:1883\n  users: [{name: a, password: x, access: read}]\n", "users: is only for broker: embedded"},
	} {
		// Decode errors carry the section (mqtt.…), Validate's are relative to it.
		_, errs := decodeConfig(t, c.src, nil)
		if !strings.Contains(config.Errors(errs).Error(), c.want) {
			t.Errorf("%q: errors %v, want %q", c.src, errs, c.want)
		}
	}
	cfg, errs := decodeConfig(t, "mqtt:\n  tls: {cert_file: /nonexistent.pem, key_file: /nonexistent.key}\n", nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := cfg.brokerOptions(); err == nil || !strings.Contains(err.Error(), "mqtt.tls") {
		t.Errorf("missing certificate files: %v", err)
	}
}
