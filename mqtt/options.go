package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/gridbox/gridbox/broker"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Publisher.
type Options struct {
	Broker   string                // "embedded" or a URL: mqtt://, mqtts://, mqtt5://, mqtts5:// with optional user:pass@
	Embedded *broker.Broker        // used when Broker == "embedded"
	Prefix   string                // topic root; default "gridbox"
	ClientID string                // client id at an external broker; default "gridbox-<site>"
	Site     string                // gateway id, used for the default client id
	Version  string                // gateway version, published on <prefix>/$state
	Buffer   int                   // values kept while disconnected; default 10000, the oldest are dropped beyond that
	QoS      byte                  // QoS of value messages, 0 (default) or 1; $state, $meta and write results use QoS 1
	CAFile   string                // PEM CA certificates to trust for mqtts:// and mqtts5:// instead of the system roots
	Log      *slog.Logger          // nil discards logs
	Metrics  prometheus.Registerer // nil: metrics are kept but not registered
	Controls Controls              // takes <prefix>/<device>/<name>/setpoint and /schedule; nil: answered "not controlled"
}

// Controls takes the setpoints and schedules of controlled actuators
// (sink.Controls, implemented by package control).
type Controls interface {
	SetItems(device, name, what string, items []byte, ts int64) error
}

// DefaultBuffer is the number of values kept while the broker is unreachable.
const DefaultBuffer = 10000

// target is a parsed Options.Broker.
type target struct {
	embedded   bool
	v5, tls    bool
	addr       string // host:port
	user, pass string
	redacted   string      // the URL without the password, for logs
	tlsCfg     *tls.Config // set for mqtts:// and mqtts5://
}

// tlsConfig returns the TLS settings for a broker: the system roots, or
// only the CAs in caFile when one is given.
func tlsConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// parseBroker validates Options.Broker; the error names what is wrong.
func parseBroker(s string) (target, error) {
	if s == "embedded" {
		return target{embedded: true, redacted: s}, nil
	}
	if s == "" {
		return target{}, errors.New(`broker is empty: want "embedded" or a URL mqtt://, mqtts://, mqtt5:// or mqtts5://`)
	}
	u, err := url.Parse(s)
	if err != nil {
		return target{}, fmt.Errorf("broker: %w", redactErr(err, s))
	}
	t := target{redacted: u.Redacted()}
	port := "1883"
	switch u.Scheme {
	case "mqtt":
	case "mqtts":
		t.tls, port = true, "8883"
	case "mqtt5":
		t.v5 = true
	case "mqtts5":
		t.v5, t.tls, port = true, true, "8883"
	default:
		return target{}, fmt.Errorf("broker %q: scheme %q: want embedded or a URL with scheme mqtt, mqtts, mqtt5 or mqtts5", t.redacted, u.Scheme)
	}
	if u.Hostname() == "" {
		return target{}, fmt.Errorf("broker %q: missing host", t.redacted)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return target{}, fmt.Errorf("broker %q: unexpected path, query or fragment: want scheme://[user:pass@]host[:port]", t.redacted)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	t.addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		t.user = u.User.Username()
		t.pass, _ = u.User.Password()
	}
	return t, nil
}

// redactErr keeps a password in a malformed URL out of error messages.
func redactErr(err error, raw string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("invalid URL: %w", ue.Err)
	}
	return errors.New(strings.ReplaceAll(err.Error(), raw, "<url>"))
}

// withDefaults fills defaults and validates the remaining options.
func (o Options) withDefaults() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if err := checkPrefix(o.Prefix); err != nil {
		return o, fmt.Errorf("prefix %w", err)
	}
	if o.ClientID == "" {
		o.ClientID = "gridbox"
		if o.Site != "" {
			o.ClientID += "-" + o.Site
		}
	}
	switch {
	case o.Buffer < 0:
		return o, fmt.Errorf("buffer %d: must not be negative", o.Buffer)
	case o.Buffer == 0:
		o.Buffer = DefaultBuffer
	}
	if o.QoS > 1 {
		return o, fmt.Errorf("qos %d: want 0 or 1", o.QoS)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
