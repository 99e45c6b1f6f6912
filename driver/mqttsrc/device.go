package mqttsrc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/devstat"
	"github.com/gridbox/gridbox/model"
)

const requestTimeout = 10 * time.Second

// Device is one remote broker with its datapoints. It implements
// driver.Device and bus.Writer.
type Device struct {
	cfg    *Config
	specs  []*spec
	t      target
	tls    *tls.Config
	log    *slog.Logger
	cat    driver.Catalog // may be nil (tests): run-time datapoints then stay internal
	bad    *devstat.Malformed
	static map[string]*spec // by name

	mu      sync.Mutex
	known   map[string]model.Format // every datapoint by name
	dynamic int                     // datapoints added at run time
	full    bool                    // max_points reached (logged once)
	sink    driver.Sink
	state   model.DeviceState
	cm      *autopaho.ConnectionManager
}

// Datapoints lists the configured datapoints; wildcard matches come at run time.
func (d *Device) Datapoints() []model.Datapoint {
	var out []model.Datapoint
	for _, s := range d.specs {
		if !s.wild {
			dp := s.datapoint(s.Name, "")
			dp.Device = d.cfg.ID
			out = append(out, dp)
		}
	}
	return out
}

// filters are the distinct topic filters to subscribe to.
func (d *Device) filters() []paho.SubscribeOptions {
	seen := map[string]bool{}
	var out []paho.SubscribeOptions
	for _, s := range d.specs {
		if !seen[s.Topic] {
			seen[s.Topic] = true
			out = append(out, paho.SubscribeOptions{Topic: s.Topic, QoS: byte(d.cfg.QoS)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

// Run connects to the broker, subscribes and keeps reconnecting until ctx is done.
func (d *Device) Run(ctx context.Context, out driver.Sink) error {
	d.mu.Lock()
	d.sink = out
	d.mu.Unlock()
	clientID := d.cfg.ClientID
	if clientID == "" {
		clientID = "gridbox-" + d.cfg.ID
	}
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{d.t.url},
		TlsCfg:                        d.tls,
		KeepAlive:                     30,
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              autopaho.NewExponentialBackoff(250*time.Millisecond, 5*time.Second, time.Second, 2),
		ConnectTimeout:                requestTimeout,
		ConnectUsername:               d.t.user,
		ConnectPassword:               []byte(d.t.pass),
		OnConnectionUp:                d.up,
		OnConnectionDown:              func() bool { d.down(errors.New("connection lost")); return true },
		OnConnectError:                func(err error) { d.down(err) },
		ClientConfig: paho.ClientConfig{
			ClientID: clientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
				d.message(r.Packet.Topic, r.Packet.Payload)
				return true, nil
			}},
		},
	}
	connCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cm, err := autopaho.NewConnection(connCtx, cfg)
	if err != nil {
		d.down(err)
		<-ctx.Done()
		return nil
	}
	d.mu.Lock()
	d.cm = cm
	d.mu.Unlock()
	<-ctx.Done()
	stop, cancelStop := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelStop()
	if err := cm.Disconnect(stop); err != nil {
		d.log.Debug("mqtt source disconnect", "broker", d.t.redacted, "err", err)
	}
	return nil
}

// up subscribes after every (re)connection and reports the device online.
func (d *Device) up(cm *autopaho.ConnectionManager, _ *paho.Connack) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: d.filters()}); err != nil {
		d.down(fmt.Errorf("subscribe: %w", err))
		return
	}
	d.log.Info("mqtt source connected", "broker", d.t.redacted)
	d.mu.Lock()
	d.state.Online, d.state.Error, d.state.LastSeen = true, "", model.NowMs()
	st, out := d.state, d.sink
	d.mu.Unlock()
	out.SetState(st, 1, 0)
}

// down reports the device offline and its values stale.
func (d *Device) down(err error) {
	d.mu.Lock()
	was := d.state.Online
	d.state.Online, d.state.Error = false, fmt.Sprintf("broker %s: %v", d.t.redacted, err)
	st, out := d.state, d.sink
	d.mu.Unlock()
	if was {
		d.log.Warn("mqtt source offline", "broker", d.t.redacted, "err", err)
	}
	if out != nil {
		out.MarkStale(d.cfg.ID, model.NowMs())
		out.SetState(st, 1, 1)
	}
}
