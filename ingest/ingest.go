// Package ingest is the fleet side of the uplink (`gridbox ingest`): it
// consumes the <site>/data messages of many gateways through an MQTT 5
// shared subscription, so several ingest processes share the load, and
// writes their values to PostgreSQL (TimescaleDB when available). A message
// is acknowledged only after its rows are committed; each process has a
// stable client id and a persistent session, so one that is killed resumes
// the messages that were in flight to it.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/gridbox/gridbox/uplink"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure an ingest process.
type Options struct {
	Broker        string        // mqtt://, mqtts://, mqtt5://, mqtts5:// (always spoken as MQTT 5)
	PG            string        // postgres://…
	Group         string        // shared subscription group; default "gridbox-ingest"
	ClientID      string        // stable id of this process (its persistent session)
	Topic         string        // topic filter inside the share; default "+/data"
	SessionExpiry time.Duration // how long the broker keeps the session of a stopped process; default 24h
	BatchRows     int           // rows per transaction; default 5000
	BatchAge      time.Duration // longest wait before a transaction; default 200ms
	Log           *slog.Logger
	Metrics       prometheus.Registerer
}

// Defaults.
const (
	DefaultGroup = "gridbox-ingest"
	DefaultTopic = "+/data"
)

func (o Options) withDefaults() (Options, error) {
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if strings.ContainsAny(o.Group, "/+#") {
		return o, fmt.Errorf("--group %q: must not contain / + #", o.Group)
	}
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	if o.ClientID == "" {
		return o, errors.New("--client-id is required: a stable id per ingest process")
	}
	if o.SessionExpiry <= 0 {
		o.SessionExpiry = 24 * time.Hour
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 5000
	}
	if o.BatchAge <= 0 {
		o.BatchAge = 200 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	return o, nil
}

// brokerURL converts the broker flag to what autopaho dials.
func brokerURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--broker %q: want mqtt://host:port or mqtts://host:port", s)
	}
	switch u.Scheme {
	case "mqtt", "mqtt5", "tcp":
		u.Scheme = "mqtt"
	case "mqtts", "mqtts5", "ssl", "tls":
		u.Scheme = "mqtts"
	default:
		return nil, fmt.Errorf("--broker %q: scheme %q: want mqtt or mqtts", s, u.Scheme)
	}
	return u, nil
}

// received is one message waiting for its rows to be committed.
type received struct {
	client *paho.Client
	pub    *paho.Publish
}

// Run consumes until ctx is done.
func Run(ctx context.Context, o Options) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	u, err := brokerURL(o.Broker)
	if err != nil {
		return err
	}
	m, err := newMetrics(o.Metrics)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, o.PG)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer func() { conn.Close(context.Background()) }()
	hyper, err := EnsureSchema(ctx, conn)
	if err != nil {
		return err
	}
	o.Log.Info("ingest: table ready", "table", Table, "hypertable", hyper)
	msgs := make(chan received, 4*o.BatchRows)
	filter := "$share/" + o.Group + "/" + o.Topic
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	expiry := uint32(o.SessionExpiry / time.Second)
	cfg := autopaho.ClientConfig{
		ServerUrls: []*url.URL{{Scheme: u.Scheme, Host: u.Host}}, KeepAlive: 30,
		CleanStartOnInitialConnection: false, SessionExpiryInterval: expiry,
		ConnectUsername: user, ConnectPassword: []byte(pass),
		ReconnectBackoff: autopaho.NewExponentialBackoff(250*time.Millisecond, 5*time.Second, time.Second, 2),
		OnConnectionUp: func(cm *autopaho.ConnectionManager, ca *paho.Connack) {
			o.Log.Info("ingest: connected", "broker", u.Redacted(), "session_present", ca.SessionPresent, "filter", filter)
			go func() { // subscribing waits for the SUBACK, which the client's router delivers
				sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if _, err := cm.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
					o.Log.Error("ingest: subscribe failed", "filter", filter, "err", err)
					return
				}
				o.Log.Info("ingest: subscribed", "filter", filter)
			}()
		},
		OnConnectError: func(err error) { o.Log.Warn("ingest: connect failed", "broker", u.Redacted(), "err", err) },
		ClientConfig: paho.ClientConfig{
			ClientID: o.ClientID, EnableManualAcknowledgment: true,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
				select {
				case msgs <- received{client: r.Client, pub: r.Packet}:
				case <-ctx.Done():
				}
				return true, nil
			}},
		},
	}
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		return fmt.Errorf("mqtt %s: %w", u.Redacted(), err)
	}
	err = writeLoop(ctx, &conn, msgs, o, m)
	dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = cm.Disconnect(dctx)
	<-cm.Done()
	return err
}

// writeLoop batches messages into transactions and acknowledges each
// message once its transaction committed.
func writeLoop(ctx context.Context, conn **pgx.Conn, msgs <-chan received, o Options, m *metrics) error {
	var batch []received
	var rs []row
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := writeRetry(ctx, conn, rs, o)
		if err != nil {
			return err
		}
		for _, r := range batch {
			if err := r.client.Ack(r.pub); err != nil {
				o.Log.Warn("ingest: ack failed (the broker redelivers; the rows are stored once)", "err", err)
			}
		}
		m.committed(len(batch), len(rs), n)
		batch, rs = batch[:0], rs[:0]
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-msgs:
			msg, err := uplink.Decode(r.pub.Payload)
			if err != nil {
				m.bad.Inc()
				o.Log.Warn("ingest: bad message acknowledged and skipped", "topic", r.pub.Topic, "err", err)
				batch = append(batch, r)
				break
			}
			var bad int
			rs, bad = rows(msg, rs)
			m.badValues.Add(float64(bad))
			m.lag.Set(float64(time.Now().UnixMilli()-msg.Sent) / 1000)
			if len(batch) == 0 {
				timer.Reset(o.BatchAge)
			}
			batch = append(batch, r)
		case <-timer.C:
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		if len(rs) >= o.BatchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// writeRetry retries a failed transaction, reconnecting to PostgreSQL when
// the connection is gone, until it commits or ctx is done: nothing is
// acknowledged meanwhile, so nothing is lost.
func writeRetry(ctx context.Context, conn **pgx.Conn, rs []row, o Options) (int64, error) {
	backoff := 250 * time.Millisecond
	for {
		if (*conn).IsClosed() {
			c, err := pgx.Connect(ctx, o.PG)
			if err == nil {
				*conn = c
				o.Log.Info("ingest: reconnected to PostgreSQL")
			}
		}
		n, err := write(ctx, *conn, rs)
		if err == nil {
			return n, nil
		}
		if ctx.Err() != nil {
			return 0, nil
		}
		o.Log.Warn("ingest: write failed, retrying", "rows", len(rs), "err", err)
		select {
		case <-ctx.Done():
			return 0, nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
