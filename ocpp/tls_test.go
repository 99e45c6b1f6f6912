package ocpp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/sink"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gridbox"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	cert, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return cert, keyFile
}

// TestSinkTLS runs the sink as the gateway does, with TLS and a password
// (security profile 2), and checks it stops when its context ends.
func TestSinkTLS(t *testing.T) {
	dir := t.TempDir()
	cfg := newConfig()
	cfg.Listen, cfg.DataDir = "127.0.0.1:0", dir
	cfg.CertFile, cfg.KeyFile = selfSigned(t, dir)
	cfg.ChargePoints = []ChargePoint{{ID: "CP-001", Password: "pw"}}
	b := bus.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sk, err := Kind().New(ctx, cfg, sink.Env{Name: "ocpp", Bus: b, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sk.Run(ctx, nil) }()
	addr := sk.(sink.Addresser).Addr()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("CP-001:pw"))}}
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	defer dcancel()
	c, _, err := websocket.Dial(dctx, "wss://"+addr+"/ocpp/CP-001", &websocket.DialOptions{HTTPClient: client, HTTPHeader: h, Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	defer c.CloseNow()
	got := roundTrip(t, c, `[2,"1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]`)
	if got[0] != 3.0 {
		t.Fatalf("boot over TLS: %v", got)
	}
	testenv.Eventually(t, 10*time.Second, "device cp-001", func() bool { _, ok := b.Device("cp-001"); return ok })
	if _, _, err := websocket.Dial(dctx, "ws://"+addr+"/ocpp/CP-001", &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{Subprotocol}}); err == nil {
		t.Error("plain ws accepted on a TLS listener")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sink did not stop")
	}
	if err := sk.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d, _ := b.Device("cp-001"); d.Online {
		t.Error("cp-001 still online after the central system stopped")
	}
}
