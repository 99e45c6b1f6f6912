// Package victron is the Victron dialect: gridbox's values on a GX
// device's N/R/W topics (dbus-mqtt / dbus-flashmq), with its keep-alive,
// so apps and tools written for a Victron GX read gridbox's devices and
// write its actuators (README.md, docs/dialect-victron.md).
package victron

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// Timing of the protocol.
const (
	HeartbeatEvery = 3 * time.Second // N/<id>/heartbeat while alive
	maxRepublishes = 3               // full republishes per second; more keep-alives only extend liveness
	writeQueue     = 64
	msgQueue       = 1024
	writeTimeout   = 10 * time.Second
)

// Dialect serves the N/R/W topics. Run owns its state.
type Dialect struct {
	bus       *bus.Bus
	mq        sink.MQTT
	cfg       Config
	id        string
	keepAlive time.Duration
	log       *slog.Logger
	count     func(string)
	msgs      chan inMsg
	writes    chan writeReq

	// owned by Run
	conn        sink.MQTTConn
	t           table
	aliveUntil  time.Time
	alive       bool
	republished []time.Time // recent full republishes, for the rate limit
	sys         map[string]any
}

type inMsg struct {
	topic   string
	payload []byte
}

type writeReq struct {
	device, name, path string
	value              any
}

// New prepares the dialect from a validated config; Run connects.
func New(b *bus.Bus, mq sink.MQTT, c Config, log *slog.Logger, count func(string)) (*Dialect, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errors.New(errs[0].Path + ": " + errs[0].Msg)
	}
	ka := time.Duration(c.KeepAlive)
	if ka == 0 {
		ka = DefaultKeepAlive
	}
	return &Dialect{bus: b, mq: mq, cfg: c, id: c.PortalID, keepAlive: ka, log: log, count: count,
		msgs: make(chan inMsg, msgQueue), writes: make(chan writeReq, writeQueue), sys: map[string]any{}}, nil
}

// onMessage queues a request for Run; it never blocks.
func (d *Dialect) onMessage(topic string, payload []byte, retained bool) {
	if retained && strings.HasPrefix(topic, "W/") {
		d.count("refused") // a retained write is never applied
		return
	}
	select {
	case d.msgs <- inMsg{topic: topic, payload: bytes.Clone(payload)}:
	default:
		d.count("dropped")
	}
}

// Run serves until ctx is done.
func (d *Dialect) Run(ctx context.Context, sub *bus.Subscription) error {
	if remove, ok := d.mq.GuardMQTT(newPolicy(d.id, d.cfg.ReadOnlyUsers)); ok {
		defer remove()
	} else {
		d.log.Info("external broker: the Victron access rules (no foreign N, read-only users, masked passwords) are the broker's to enforce")
	}
	up := make(chan struct{}, 1)
	conn, err := d.mq.DialMQTT("victron", func() {
		select {
		case up <- struct{}{}:
		default:
		}
	}, d.onMessage)
	if err != nil {
		return fmt.Errorf("victron: %w", err)
	}
	d.conn = conn
	var wg sync.WaitGroup
	wctx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		wg.Wait()
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	wg.Go(func() { d.writeWorker(wctx) })
	for _, f := range []string{"R/" + d.id + "/#", "W/" + d.id + "/#"} {
		if err := conn.Subscribe(f); err != nil {
			return fmt.Errorf("victron: %w", err)
		}
	}
	d.t = build(d.bus.Datapoints(), d.cfg.Mapping)
	for key := range d.cfg.Mapping {
		dev, name, _ := strings.Cut(key, "/")
		if _, _, _, ok := d.bus.Datapoint(dev, name); !ok {
			d.log.Warn("victron mapping names a datapoint that does not exist (yet); it is mapped when it appears", "datapoint", key)
		}
	}
	d.log.Info("victron dialect started", "portal_id", d.id, "paths", len(d.t.paths), "retained", d.cfg.Retained)
	tick := time.NewTicker(HeartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-up:
			d.announce(ctx)
		case m := <-d.msgs:
			d.request(ctx, m)
		case now := <-tick.C:
			d.heartbeat(ctx, now)
		case v := <-sub.Values:
			d.value(ctx, v)
		case st := <-sub.States:
			d.state(ctx, st)
		case e := <-sub.Events:
			d.event(ctx, e)
		}
	}
}

// announce runs after every (re)connect: the retained serial and the
// gateway's keep-alive notice.
func (d *Dialect) announce(ctx context.Context) {
	d.send(ctx, "N/"+d.id+"/"+serialPath, encode(d.id, nil), true)
	d.send(ctx, "N/"+d.id+"/keepalive", encode(1.0, nil), false)
}

// send publishes one message and counts it.
func (d *Dialect) send(ctx context.Context, topic string, payload []byte, retain bool) {
	if err := d.conn.Publish(ctx, topic, payload, 0, retain); err != nil {
		d.count("failed")
		d.log.Debug("victron message not published", "topic", topic, "err", err)
		return
	}
	d.count("published")
}

// notify publishes the N message of one path with the mode's retain flag.
func (d *Dialect) notify(ctx context.Context, p string) {
	d.send(ctx, "N/"+d.id+"/"+p, encode(d.current(p), nil), d.cfg.Retained)
}

// clear publishes a zero-byte retained message on a path: the device is gone.
func (d *Dialect) clear(ctx context.Context, p string) {
	d.send(ctx, "N/"+d.id+"/"+p, nil, true)
}

// current is a path's value now: nil when unavailable.
func (d *Dialect) current(p string) any {
	if p == serialPath {
		return d.id
	}
	pt, ok := d.t.paths[p]
	if !ok {
		return nil
	}
	var v any
	switch {
	case pt.role == "system":
		v = d.sys[p]
	case pt.role == "connected":
		st, _ := d.bus.Device(pt.device)
		v = map[bool]any{true: 1.0, false: 0.0}[st.Online]
	case pt.key != "":
		dev, name, _ := strings.Cut(pt.key, "/")
		_, last, has, _ := d.bus.Datapoint(dev, name)
		if has && last.Quality == model.Good {
			v = last.Value
		}
	default:
		v = pt.value
	}
	if v != nil && masked(p) {
		return "******"
	}
	return v
}

func (d *Dialect) value(ctx context.Context, v model.Value) {
	paths := d.t.byKey[v.Key()]
	if !d.alive || len(paths) == 0 {
		return
	}
	var x any
	if v.Quality == model.Good {
		x = v.Value
	}
	for _, p := range paths {
		if x != nil && masked(p) {
			x = "******"
		}
		d.send(ctx, "N/"+d.id+"/"+p, encode(x, nil), d.cfg.Retained)
	}
	d.summary(ctx, true)
}

// summary recomputes the system service; publish sends what changed.
func (d *Dialect) summary(ctx context.Context, publish bool) {
	s := summary(d.t, func(key string) (float64, bool) {
		dev, name, _ := strings.Cut(key, "/")
		_, last, has, _ := d.bus.Datapoint(dev, name)
		f, ok := last.Value.(float64)
		return f, has && ok && last.Quality == model.Good
	})
	for p, v := range s {
		if old, seen := d.sys[p]; seen && old == v {
			continue
		}
		d.sys[p] = v
		if publish {
			d.notify(ctx, p)
		}
	}
}

func (d *Dialect) state(ctx context.Context, st model.DeviceState) {
	if !d.alive {
		return
	}
	for p, pt := range d.t.paths {
		if pt.role == "connected" && pt.device == st.Device {
			d.notify(ctx, p)
		}
	}
}

// event rebuilds the paths; those that went away get zero-byte messages.
func (d *Dialect) event(ctx context.Context, e bus.Event) {
	switch e.Type {
	case bus.DatapointAdded, bus.DatapointRemoved, bus.DeviceRemoved:
	default:
		return
	}
	old := d.t
	d.t = build(d.bus.Datapoints(), d.cfg.Mapping)
	for _, p := range sortedPaths(old) {
		if _, still := d.t.paths[p]; !still {
			d.clear(ctx, p)
		}
	}
	if !d.alive {
		return
	}
	for _, p := range sortedPaths(d.t) {
		if _, was := old.paths[p]; !was {
			d.notify(ctx, p)
		}
	}
}

func sortedPaths(t table) []string {
	out := make([]string, 0, len(t.paths))
	for p := range t.paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
