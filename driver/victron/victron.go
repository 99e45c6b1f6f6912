// Package victron is the `victron` driver: it reads a Victron GX device's
// MQTT topics (dbus-mqtt / dbus-flashmq) — N/<portal>/<service>/<instance>/
// <path> with {"value": x} — as gridbox devices, one per service and
// instance, created when their topics appear; it sends the keep-alives that
// keep the GX publishing, and writes configured paths with W (README.md,
// docs/driver-victron.md). Its counterpart is dialect/victron.
package victron

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/internal/devstat"
	"github.com/gridbox/gridbox/model"
)

const (
	requestTimeout = 10 * time.Second
	maxFulls       = 3 // full keep-alives per connection without a completion echo
)

// Factory returns the driver's factory for the gateway's driver table.
func Factory() driver.Factory {
	return driver.Factory{Name: "victron", NewConfig: func() driver.Config { return NewConfig() }, New: NewDevice}
}

// Device is one GX. It implements driver.Device and bus.Writer.
type Device struct {
	cfg    *Config
	t      target
	tls    *tls.Config
	log    *slog.Logger
	cat    driver.Catalog // may be nil (tests): service devices then stay unknown
	bad    *devstat.Malformed
	acts   map[string]Actuator // by path
	byName map[string]Actuator
	kick   chan struct{} // (re)connected or portal learnt: subscribe and send a full keep-alive

	mu       sync.Mutex
	portal   string
	sink     driver.Sink
	cli      paho.Client
	state    model.DeviceState
	echo     string // token of the last full keep-alive
	complete bool   // its full_publish_completed arrived
	fulls    int // full keep-alives sent, for the echo tokens
	tries    int // full keep-alives since the last connection
	svc      map[string]*service // by device id
	byPath   map[string]point    // "service/instance/path" → datapoint
	points   int
	full     bool
}

// service is one service/instance of the GX: a gridbox device.
type service struct {
	names map[string]string // datapoint name → path
}

// point is one datapoint made from a path.
type point struct {
	device, name string
	format       model.Format
}

// NewDevice builds a GX device from a validated *Config.
func NewDevice(c driver.Config, env driver.Env) (driver.Device, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("victron: config is %T, want *victron.Config", c)
	}
	t, err := parseBroker(cfg.Broker)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	if cfg.Username != "" {
		t.user, t.pass = cfg.Username, cfg.Password
	}
	tlsCfg, err := tlsConfig(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Device{cfg: cfg, t: t, tls: tlsCfg, log: log, cat: env.Catalog, bad: devstat.NewMalformed(env.Metrics, "victron", cfg.ID),
		acts: map[string]Actuator{}, byName: map[string]Actuator{}, kick: make(chan struct{}, 1),
		portal: cfg.PortalID, svc: map[string]*service{}, byPath: map[string]point{}}
	for _, a := range cfg.Actuators {
		a.Name = a.datapoint("").Name
		d.acts[a.Path], d.byName[a.Name] = a, a
	}
	d.state = model.DeviceState{Device: cfg.ID, Driver: "victron"}
	return d, nil
}

// Datapoints are the GX's heartbeat and the configured actuators; the
// services' datapoints come at run time as devices of their own.
func (d *Device) Datapoints() []model.Datapoint {
	out := []model.Datapoint{{Device: d.cfg.ID, Name: "heartbeat", Meta: model.Meta{Kind: model.Sensor,
		Format: model.GenericNumeric, Unit: "s", Description: "the GX's last heartbeat (Unix seconds)"}}}
	for _, a := range d.cfg.Actuators {
		out = append(out, a.datapoint(d.cfg.ID))
	}
	return out
}

// Run connects to the GX's broker and keeps it publishing until ctx is done.
func (d *Device) Run(ctx context.Context, out driver.Sink) error {
	d.mu.Lock()
	d.sink = out
	d.mu.Unlock()
	id := d.cfg.ClientID
	if id == "" {
		id = "gridbox-" + d.cfg.ID
	}
	o := paho.NewClientOptions().AddBroker(d.t.url).SetClientID(id).SetCleanSession(true).
		SetKeepAlive(30 * time.Second).SetConnectTimeout(requestTimeout).SetWriteTimeout(requestTimeout).
		SetAutoReconnect(true).SetMaxReconnectInterval(5 * time.Second).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { d.message(m.Topic(), m.Payload()) }).
		SetOnConnectHandler(func(paho.Client) { d.signal() }).
		SetConnectionLostHandler(func(_ paho.Client, err error) { d.down(err) }).
		SetConnectionNotificationHandler(func(_ paho.Client, n paho.ConnectionNotification) {
			if f, ok := n.(paho.ConnectionNotificationFailed); ok {
				d.down(f.Reason)
			}
		})
	if d.t.tls {
		o.SetTLSConfig(d.tls)
	}
	if d.t.user != "" {
		o.SetUsername(d.t.user).SetPassword(d.t.pass)
	}
	cli := paho.NewClient(o)
	d.mu.Lock()
	d.cli = cli
	d.mu.Unlock()
	cli.Connect()
	defer cli.Disconnect(250)
	tick := time.NewTicker(d.cfg.KeepAlive.D())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.kick:
			d.setup(cli)
		case <-tick.C:
			d.keepalive(cli, d.wantFull())
		}
	}
}

func (d *Device) signal() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// wantFull reports whether the next keep-alive asks for a full publish:
// until the completion with our token arrived, at most maxFulls times per
// connection (a GX too old for the options never echoes; it republishes on
// every keep-alive anyway).
func (d *Device) wantFull() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.complete {
		return false
	}
	if d.tries >= maxFulls {
		d.log.Warn("victron GX does not answer full_publish_completed with our echo (older firmware?); keep-alives continue without asking again",
			"device", d.cfg.ID, "tries", d.tries)
		d.complete = true
		return false
	}
	return true
}

// setup subscribes after a (re)connect: to the serial topic while the
// portal id is unknown, else to the N topics, then asks for a full publish.
func (d *Device) setup(cli paho.Client) {
	d.mu.Lock()
	portal := d.portal
	d.mu.Unlock()
	filters := map[string]byte{"N/+/system/0/Serial": 0}
	if portal != "" {
		filters = map[string]byte{}
		paths := d.cfg.Paths
		if len(paths) == 0 {
			paths = []string{"#"}
		}
		for _, p := range append(paths, "heartbeat", "full_publish_completed", "system/0/Serial") {
			filters["N/"+portal+"/"+p] = 0
		}
	}
	tok := cli.SubscribeMultiple(filters, nil)
	if !tok.WaitTimeout(requestTimeout) || tok.Error() != nil {
		d.down(fmt.Errorf("subscribe: %v", tok.Error()))
		return
	}
	d.up(portal)
	if portal != "" {
		d.keepalive(cli, true)
	}
}

// keepalive sends R/<portal>/keepalive: a full one (republish, echo token)
// or one that only extends liveness.
func (d *Device) keepalive(cli paho.Client, full bool) {
	d.mu.Lock()
	portal := d.portal
	payload := `{"keepalive-options":["suppress-republish"]}`
	if full {
		d.fulls++
		d.tries++
		d.echo, d.complete = d.cfg.ID+"-"+strconv.Itoa(d.fulls), false
		b, _ := json.Marshal(map[string]any{"keepalive-options": []any{map[string]string{"full-publish-completed-echo": d.echo}}})
		payload = string(b)
	}
	d.mu.Unlock()
	if portal == "" || !cli.IsConnectionOpen() {
		return
	}
	tok := cli.Publish("R/"+portal+"/keepalive", 0, false, payload)
	if tok.WaitTimeout(requestTimeout) && tok.Error() != nil {
		d.log.Warn("victron keep-alive not sent", "device", d.cfg.ID, "err", tok.Error())
	}
}

// up reports the GX and its services online.
func (d *Device) up(portal string) {
	d.mu.Lock()
	d.state.Online, d.state.Error, d.state.LastSeen = true, "", model.NowMs()
	if portal == "" {
		d.state.Error = "waiting for N/+/system/0/Serial to learn the portal id"
	}
	st, out, devs := d.state, d.sink, d.serviceIDs()
	d.mu.Unlock()
	d.log.Info("victron GX connected", "device", d.cfg.ID, "broker", d.t.redacted, "portal_id", portal)
	out.SetState(st, 1, 0)
	for _, id := range devs {
		out.SetState(model.DeviceState{Device: id, Driver: "victron", Online: true, LastSeen: st.LastSeen}, 0, 0)
	}
}

// down reports the GX and its services offline and their values stale.
func (d *Device) down(err error) {
	d.mu.Lock()
	was := d.state.Online
	d.state.Online, d.state.Error = false, fmt.Sprintf("broker %s: %v", d.t.redacted, err)
	d.complete, d.tries = false, 0
	st, out, devs := d.state, d.sink, d.serviceIDs()
	d.mu.Unlock()
	if was {
		d.log.Warn("victron GX offline", "device", d.cfg.ID, "broker", d.t.redacted, "err", err)
	}
	if out == nil {
		return
	}
	now := model.NowMs()
	for _, id := range append(devs, d.cfg.ID) {
		out.MarkStale(id, now)
		if id != d.cfg.ID {
			out.SetState(model.DeviceState{Device: id, Driver: "victron", Error: st.Error}, 0, 1)
		}
	}
	out.SetState(st, 1, 1)
}

func (d *Device) serviceIDs() []string {
	out := make([]string, 0, len(d.svc))
	for id := range d.svc {
		out = append(out, id)
	}
	return out
}

// Write sends W/<portal>/<path> {"value": v} for a configured actuator; the
// bus has checked the limits. The GX answers with an N of the path.
func (d *Device) Write(ctx context.Context, name string, v any) (any, error) {
	a, ok := d.byName[name]
	if !ok {
		return nil, fmt.Errorf("victron: %q is not a writable path (actuators:)", name)
	}
	d.mu.Lock()
	cli, portal := d.cli, d.portal
	d.mu.Unlock()
	if cli == nil || portal == "" || !cli.IsConnectionOpen() {
		return nil, errors.New("victron: not connected to the GX (or its portal id is not known yet)")
	}
	b, err := json.Marshal(map[string]any{"value": v})
	if err != nil {
		return nil, fmt.Errorf("victron: %w", err)
	}
	tok := cli.Publish("W/"+portal+"/"+a.Path, 1, false, b)
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return nil, fmt.Errorf("victron: write %s: %w", a.Path, ctx.Err())
	case <-time.After(requestTimeout):
		return nil, fmt.Errorf("victron: write %s: no PUBACK within %s", a.Path, requestTimeout)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("victron: write %s: %w", a.Path, err)
	}
	return v, nil
}
