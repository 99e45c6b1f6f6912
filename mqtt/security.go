package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/gridbox/gridbox/broker"
	"github.com/gridbox/gridbox/config"
)

// UserConfig is one item of `mqtt.users`: an account of the embedded broker.
type UserConfig struct {
	Name         string   `yaml:"name"`
	PasswordHash string   `yaml:"password_hash"` // bcrypt
	Password     string   `yaml:"password"`      // plain, usually "${ENV}"
	Access       string   `yaml:"access"`        // read, write or admin
	Topics       []string `yaml:"topics"`        // topic filters allowed; empty = all
}

// TLSConfig is `mqtt.tls`: the embedded broker's certificate. Without
// Listen the `mqtt.listen` listener itself speaks TLS; with it both run.
type TLSConfig struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"` // clients must present a certificate signed by it
	Listen       string `yaml:"listen"`
}

// WebSocketConfig is `mqtt.websocket`: MQTT over WebSocket for browsers.
type WebSocketConfig struct {
	Listen  string   `yaml:"listen"`
	Origins []string `yaml:"origins"` // browser origins allowed besides the listener's own (host patterns)
	TLS     bool     `yaml:"tls"`     // wss with the mqtt.tls certificate
}

// RateLimits is `mqtt.rate_limits`; 0 means no limit.
type RateLimits struct {
	ConnectsPerSecond float64 `yaml:"connects_per_second"` // per remote host
	ConnectBurst      int     `yaml:"connect_burst"`
	MessagesPerSecond float64 `yaml:"messages_per_second"` // publishes per client
	MessageBurst      int     `yaml:"message_burst"`
}

func (t TLSConfig) set() bool {
	return t.CertFile != "" || t.KeyFile != "" || t.ClientCAFile != "" || t.Listen != ""
}

// validateSecurity checks the embedded broker's users, TLS, WebSocket and
// rate limit keys; embedded says whether the broker is embedded.
func (c *Config) validateSecurity(embedded bool, add func(path, format string, args ...any)) {
	if !embedded {
		for key, set := range map[string]bool{"users": len(c.Users) > 0, "allow_anonymous": c.AllowAnonymous,
			"tls": c.TLS.set(), "websocket": c.WebSocket.Listen != "", "rate_limits": c.RateLimits != RateLimits{}} {
			if set {
				add(key, "is only for broker: embedded")
			}
		}
		return
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		path := fmt.Sprintf("users[%d]", i)
		bu, err := u.broker()
		if err == nil {
			err = bu.Check()
		}
		if err != nil {
			add(path, "%v", err)
		} else if seen[u.Name] {
			add(path+".name", "%q is configured twice", u.Name)
		}
		seen[u.Name] = true
	}
	if c.TLS.set() {
		if c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
			add("tls", "needs cert_file and key_file")
		}
		if c.TLS.Listen != "" {
			if err := config.CheckListen(c.TLS.Listen); err != nil {
				add("tls.listen", "%v", err)
			}
		}
	}
	if c.WebSocket.Listen != "" {
		if err := config.CheckListen(c.WebSocket.Listen); err != nil {
			add("websocket.listen", "%v", err)
		}
	}
	if c.WebSocket.TLS && c.TLS.CertFile == "" {
		add("websocket.tls", "needs mqtt.tls.cert_file and key_file")
	}
	r := c.RateLimits
	if r.ConnectsPerSecond < 0 || r.MessagesPerSecond < 0 || r.ConnectBurst < 0 || r.MessageBurst < 0 {
		add("rate_limits", "must not be negative (0 = no limit)")
	}
}

func (u UserConfig) broker() (broker.User, error) {
	a, err := broker.ParseAccess(u.Access)
	if err != nil {
		return broker.User{}, fmt.Errorf("user %q: access %w", u.Name, err)
	}
	return broker.User{Name: u.Name, PasswordHash: u.PasswordHash, Password: u.Password, Access: a, Topics: u.Topics}, nil
}

// brokerOptions turns the config into the embedded broker's options,
// loading the TLS files.
func (c *Config) brokerOptions() (broker.Options, error) {
	o := broker.Options{
		Listen: c.Listen, MaxPacketSize: c.MaxPacketSize, MaxClients: c.MaxClients, MaxQueued: c.MaxQueued,
		AllowAnonymous: c.AllowAnonymous, TLSListen: c.TLS.Listen,
		WebSocketListen: c.WebSocket.Listen, WebSocketOrigins: c.WebSocket.Origins, WebSocketTLS: c.WebSocket.TLS,
		ConnectRate: c.RateLimits.ConnectsPerSecond, ConnectBurst: c.RateLimits.ConnectBurst,
		MessageRate: c.RateLimits.MessagesPerSecond, MessageBurst: c.RateLimits.MessageBurst,
	}
	for _, u := range c.Users {
		bu, err := u.broker()
		if err != nil {
			return o, err
		}
		o.Users = append(o.Users, bu)
	}
	if c.TLS.CertFile != "" {
		t, err := serverTLS(c.TLS)
		if err != nil {
			return o, err
		}
		o.TLS = t
	}
	return o, nil
}

// serverTLS loads the broker's certificate and, with client_ca_file, the
// CAs client certificates must be signed by.
func serverTLS(c TLSConfig) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("mqtt.tls: %w", err)
	}
	t := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.tls.client_ca_file %s: no PEM certificate in it", c.ClientCAFile)
		}
		t.ClientCAs, t.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return t, nil
}
