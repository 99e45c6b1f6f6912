package mqtt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
)

// writePKI writes a test CA and a server certificate for 127.0.0.1 signed by
// it; it returns the file names.
func writePKI(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gridbox test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(srvKey)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		// Readable by all: Mosquitto started as root reads them as user mosquitto.
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server.key", "PRIVATE KEY", keyDER)
}

// TestTLS: mqtts:// (3.1.1) and mqtts5:// reach a Mosquitto TLS listener
// that is trusted through ca_file; mosquitto_sub, with the same CA, reads the
// retained value. Without the CA the system roots refuse the test CA.
func TestTLS(t *testing.T) {
	sub := needProgram(t, "mosquitto_sub")
	dir := t.TempDir()
	ca, cert, key := writePKI(t, dir)
	m := startMosquittoConf(t, fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\n", ca, cert, key))
	for _, scheme := range []string{"mqtts", "mqtts5"} {
		t.Run(scheme, func(t *testing.T) {
			b := newBus(t, nil)
			prefix := fmt.Sprintf("tls-%s-%d", scheme, time.Now().UnixNano())
			r := startPublisher(t, b, Options{Broker: scheme + "://" + m.addr(), CAFile: ca, Prefix: prefix})
			eventually(t, "connected over TLS", func() bool { return r.metric("connected") == 1 })
			b.Publish(model.Value{Device: "room", Name: "temperature", Value: 21.5, Time: 1700000000123, Quality: model.Good})
			var out []byte
			eventually(t, "mosquitto_sub reads the retained value over TLS", func() bool {
				out, _ = exec.Command(sub, "-h", "127.0.0.1", "-p", fmt.Sprint(m.port), "--cafile", ca,
					"-t", prefix+"/room/temperature", "-C", "1", "-W", "2", "-v").CombinedOutput()
				return strings.Contains(string(out), `{"value":21.5,"timestamp":1700000000123,"quality":"good"}`)
			})
		})
	}
	t.Run("untrusted", func(t *testing.T) {
		var logs testenv.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		r := startPublisher(t, newBus(t, nil), Options{Broker: "mqtts://" + m.addr(), Prefix: "tls-untrusted", Log: log})
		// Wait for the positive signal: the handshake refused the certificate.
		eventually(t, "a connection attempt failed on the certificate", func() bool {
			return strings.Contains(logs.String(), "connection attempt failed") && strings.Contains(logs.String(), "certificate")
		})
		if r.metric("connected") != 0 {
			t.Fatal("connected to a broker whose certificate the system roots do not trust")
		}
	})
}

func TestCAFileErrors(t *testing.T) {
	b := newBus(t, nil)
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	cases := []struct{ broker, ca, want string }{
		{"mqtts://127.0.0.1:8883", "/nonexistent/ca.pem", "ca_file"},
		{"mqtts5://127.0.0.1:8883", bad, "no PEM certificate"},
		{"mqtt://127.0.0.1:1883", bad, "does not use TLS"},
	}
	for _, c := range cases {
		if _, err := New(b, Options{Broker: c.broker, CAFile: c.ca}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with %s: %v, want %q", c.broker, c.ca, err, c.want)
		}
	}
}
