package uplink_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/uplink/uplinktest"
)

// TestUplinkTLSClientCert: mqtts:// (3.1.1) and mqtts5:// reach a Mosquitto
// listener that requires a client certificate, trusted through ca_file;
// without the client certificate the broker refuses the uplink.
func TestUplinkTLSClientCert(t *testing.T) {
	m, pki := uplinktest.StartMosquittoTLS(t)
	for _, scheme := range []string{"mqtts", "mqtts5"} {
		t.Run(scheme, func(t *testing.T) {
			col := uplinktest.Collect(t, m.Addr, "site1/data")
			cfg := testConfig(t, scheme+"://"+m.TLSAddr)
			cfg.CAFile, cfg.CertFile, cfg.KeyFile = pki.CA, pki.ClientCert, pki.ClientKey
			cfg.ClientID = "tls-" + scheme
			if errs := cfg.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			g := startUplink(t, newBus(t), cfg)
			g.publish(100)
			checkComplete(t, col, 200)
			g.stop(t)
		})
	}
	t.Run("no client certificate", func(t *testing.T) {
		cfg := testConfig(t, "mqtts5://"+m.TLSAddr)
		cfg.CAFile = pki.CA
		var logs testenv.Buffer
		g := startUplinkLog(t, newBus(t), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		testenv.Eventually(t, 30*time.Second, "the connection refused", func() bool {
			return strings.Contains(logs.String(), "remote broker unreachable") && strings.Contains(m.Log(), "peer did not return a certificate")
		})
		if gauge(t, g.reg, "gridbox_uplink_connected") != 0 {
			t.Fatal("connected without a client certificate")
		}
	})
}
