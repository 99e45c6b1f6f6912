// Package bemcom is the BEMCom dialect: every gridbox device acts as a
// BEMCom connector (connector name = device id), outside BEMCom connectors
// plug into gridbox as if it were BEMCom's API service, gridbox runs
// BEMCom's controller on <controller>/controlled_datapoints, and BEMCom's
// REST API is served under /bemcom/ (README.md, docs/dialect-bemcom.md).
package bemcom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// Source is the write source of BEMCom writes in the audit log.
const Source = "bemcom"

const (
	msgQueue = 4096
	// MaxConnectors and MaxKeys bound what outside connectors may add to
	// the catalog, so a faulty one cannot fill it.
	MaxConnectors = 256
	MaxKeys       = 4096
	writeQueue    = 256
	writeTimeout  = 10 * time.Second
	tickEvery     = time.Second
)

// Options is what the dialect needs from the gateway.
type Options struct {
	Bus      *bus.Bus
	MQTT     sink.MQTT
	Config   Config
	Log      *slog.Logger
	Count    func(what string)      // counts messages by what (published, failed, write, …)
	Bad      func(connector string) // counts a bad payload from a connector
	History  model.History          // for /bemcom/datapoint/<id>/value/; nil: no history
	Controls sink.Controls          // gridbox's controller for setpoints and schedules; nil: none
	DataDir  string                 // the id table is kept here; "" keeps ids in memory
	Version  string                 // connector_version of raw_message_to_db
}

// Dialect runs the roles. Run owns the MQTT side; the REST handlers read
// the shared tables under mu.
type Dialect struct {
	o      Options
	cfg    Config
	log    *slog.Logger
	ids    *ids
	msgs   chan inMsg
	writes chan writeReq
	conn   atomic.Pointer[connHolder]

	mu     sync.Mutex
	ext    map[string]*extConn // outside connectors by name
	extDev map[string]*extConn // … by their gridbox device id
	posted map[string][]any    // "<id>/setpoint|schedule" → the messages POSTed since start, oldest first

	// owned by Run
	own    map[string]*ownConn // gridbox devices acting as connectors
	routes map[string]topicRoute
	ctl    *controller
}

type connHolder struct{ c sink.MQTTConn }

type inMsg struct {
	topic    string
	payload  []byte
	retained bool
}

type writeReq struct {
	connector, key, device, name string
	value                        any
}

// topicRoute is what a value topic carries: an actuator value for one of
// gridbox's connectors, or a sensor value of an outside connector.
type topicRoute struct {
	actuator     bool
	device, name string
	connector    string
}

// New prepares the dialect from a validated config; Run connects.
func New(o Options) (*Dialect, error) {
	if errs := o.Config.Validate(); len(errs) > 0 {
		return nil, errors.New(errs[0].Path + ": " + errs[0].Msg)
	}
	if o.Count == nil {
		o.Count = func(string) {}
	}
	if o.Bad == nil {
		o.Bad = func(string) {}
	}
	path := ""
	if o.DataDir != "" {
		path = filepath.Join(o.DataDir, "bemcom-ids.json")
	}
	t, err := openIDs(path)
	if err != nil {
		return nil, err
	}
	d := &Dialect{o: o, cfg: o.Config, log: o.Log, ids: t, msgs: make(chan inMsg, msgQueue), writes: make(chan writeReq, writeQueue),
		ext: map[string]*extConn{}, extDev: map[string]*extConn{}, posted: map[string][]any{}, own: map[string]*ownConn{}, routes: map[string]topicRoute{}}
	if d.cfg.has(RoleController) {
		d.ctl = newController(d.cfg.controller())
	}
	return d, nil
}

// onMessage queues a message for Run; it never blocks.
func (d *Dialect) onMessage(topic string, payload []byte, retained bool) {
	select {
	case d.msgs <- inMsg{topic: topic, payload: bytes.Clone(payload), retained: retained}:
	default:
		d.o.Count("dropped")
	}
}

// Run serves until ctx is done.
func (d *Dialect) Run(ctx context.Context, sub *bus.Subscription) error {
	up := make(chan struct{}, 1)
	conn, err := d.o.MQTT.DialMQTT("bemcom", func() {
		select {
		case up <- struct{}{}:
		default:
		}
	}, d.onMessage)
	if err != nil {
		return fmt.Errorf("bemcom: %w", err)
	}
	d.conn.Store(&connHolder{conn})
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
	if err := d.subscribe(conn); err != nil {
		return err
	}
	for _, p := range d.o.Bus.Datapoints() {
		d.assign(p.Key())
	}
	if d.cfg.has(RoleConnector) {
		for _, st := range d.o.Bus.Devices() {
			d.addOwn(st.Device)
		}
	}
	d.log.Info("bemcom dialect started", "roles", d.roles(), "connectors", len(d.own))
	hb := time.NewTicker(d.cfg.heartbeat())
	defer hb.Stop()
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-up:
			d.announceAll(ctx)
		case m := <-d.msgs:
			d.dispatch(ctx, m)
		case <-hb.C:
			d.heartbeats(ctx)
		case now := <-tick.C:
			d.expire(now)
			if d.ctl != nil {
				d.ctl.tick(ctx, d, now.UnixMilli())
			}
		case v := <-sub.Values:
			d.value(ctx, v)
		case e := <-sub.Events:
			d.event(ctx, e)
		case <-sub.States:
		}
	}
}

func (d *Dialect) roles() []string {
	var out []string
	for _, r := range []string{RoleConnector, RoleAPI, RoleController} {
		if d.cfg.has(r) {
			out = append(out, r)
		}
	}
	return out
}

func (d *Dialect) subscribe(conn sink.MQTTConn) error {
	var filters []string
	if d.cfg.has(RoleConnector) {
		filters = append(filters, "+/datapoint_map")
	}
	if d.cfg.has(RoleAPI) {
		filters = append(filters, "+/available_datapoints", "+/heartbeat", "+/logs")
	}
	if d.ctl != nil {
		filters = append(filters, d.ctl.name+"/controlled_datapoints")
	}
	for _, f := range filters {
		if err := conn.Subscribe(f); err != nil {
			return fmt.Errorf("bemcom: subscribe %s: %w", f, err)
		}
	}
	return nil
}

// dispatch hands a message to the role it belongs to.
func (d *Dialect) dispatch(ctx context.Context, m inMsg) {
	if d.ctl != nil {
		d.ctl.message(ctx, d, m)
	}
	if r, ok := d.routes[m.topic]; ok {
		if r.actuator {
			d.actuatorValue(r, m)
		} else {
			d.sensorValue(r, m)
		}
		return
	}
	name, rest, _ := strings.Cut(m.topic, "/")
	switch rest {
	case "datapoint_map":
		d.onMap(ctx, name, m.payload)
	case "available_datapoints":
		d.onAvailable(ctx, name, m.payload)
	case "heartbeat":
		d.onHeartbeat(name, m.payload)
	case "logs":
		d.onLogs(name, m.payload)
	}
}

// publish sends one message and counts it.
func (d *Dialect) publish(ctx context.Context, topic string, v any, qos byte, retain bool) error {
	h := d.conn.Load()
	if h == nil {
		d.o.Count("failed")
		return errors.New("bemcom: not connected to the broker yet")
	}
	payload, err := json.Marshal(v)
	if err != nil {
		d.o.Count("failed")
		return fmt.Errorf("bemcom: encode %s: %w", topic, err)
	}
	if err := h.c.Publish(ctx, topic, payload, qos, retain); err != nil {
		d.o.Count("failed")
		d.log.Debug("bemcom message not published", "topic", topic, "err", err)
		return fmt.Errorf("bemcom: publish %s: %w", topic, err)
	}
	d.o.Count("published")
	return nil
}

// bad counts and logs a payload a connector got wrong.
func (d *Dialect) bad(connector, topic string, payload []byte, err error) {
	d.o.Bad(connector)
	d.o.Count("bad_payload")
	d.log.Warn("bemcom: bad payload", "connector", connector, "topic", topic, "payload", short(payload), "err", err)
}

// assign gives a datapoint its id (logged when the table cannot be saved).
func (d *Dialect) assign(key string) int {
	id, err := d.ids.id(key)
	if err != nil {
		d.log.Error("bemcom: datapoint ids not saved; ids may change at restart", "datapoint", key, "err", err)
	}
	return id
}

func (d *Dialect) value(ctx context.Context, v model.Value) {
	if oc, ok := d.own[v.Device]; ok {
		d.ownValue(ctx, oc, v)
	}
}

func (d *Dialect) event(ctx context.Context, e bus.Event) {
	switch e.Type {
	case bus.DeviceAdded:
		if d.cfg.has(RoleConnector) {
			d.addOwn(e.Device.Device)
			if oc, ok := d.own[e.Device.Device]; ok {
				d.announce(ctx, oc)
			}
		}
	case bus.DatapointAdded:
		d.assign(e.Point.Key())
		if oc, ok := d.own[e.Point.Device]; ok {
			d.announce(ctx, oc)
		}
	case bus.DeviceRemoved:
		delete(d.own, e.Device.Device)
	}
}
