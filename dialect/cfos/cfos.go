// Package cfos is the charging manager dialect: gridbox's load
// management on the cFos Charging Manager's MQTT API — meter input on
// set/<id>, wallbox control on ctl, state on get/..., API calls on
// api/<query> answered on api_res, log and ta_log (README.md,
// docs/dialect-cfos.md).
package cfos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// Source is the write source the audit log names for this dialect.
const Source = "cfos"

const (
	msgQueue     = 1024
	requestQueue = 256
	writeTimeout = 10 * time.Second
	slogInfo     = slog.LevelInfo
	slogWarn     = slog.LevelWarn
)

// conn is what the dialect needs of its MQTT connection.
type conn interface {
	Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error
}

// Dialect serves the charging manager's topics. Run owns its state; the
// request worker owns the api and ctl requests.
type Dialect struct {
	bus   *bus.Bus
	mq    sink.MQTT
	cfg   Config
	root  string
	ids   ids
	log   *slog.Logger
	count func(string)
	msgs  chan inMsg
	reqs  chan inMsg

	conn      conn
	meters    map[string]*meter    // by device; Run
	published map[string][]byte    // get/... payloads last published; Run
	sessions  map[string]*session  // by charger device; Run
	rfids     map[string]rfidEntry // enter_rfid done, by dev_id; the request worker
	allocs    map[string]string    // last logged allocation per charger; Run
}

type inMsg struct {
	topic   string
	payload []byte
}

// New prepares the dialect from a validated config; Run connects.
func New(b *bus.Bus, mq sink.MQTT, c Config, log *slog.Logger, count func(string)) (*Dialect, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errors.New(errs[0].Path + ": " + errs[0].Msg)
	}
	c = c.withDefaults()
	return &Dialect{bus: b, mq: mq, cfg: c, root: c.Root, ids: newIDs(c), log: log, count: count,
		msgs: make(chan inMsg, msgQueue), reqs: make(chan inMsg, requestQueue),
		meters: map[string]*meter{}, published: map[string][]byte{}, sessions: map[string]*session{},
		rfids: map[string]rfidEntry{}, allocs: map[string]string{}}, nil
}

// onMessage sorts a message: meter input for Run, requests for the worker.
// It never blocks; a retained request is never executed.
func (d *Dialect) onMessage(topic string, payload []byte, retained bool) {
	m := inMsg{topic: topic, payload: bytes.Clone(payload)}
	q := d.msgs
	if !strings.HasPrefix(topic, d.root+"/set/") {
		if retained {
			d.count("refused")
			d.log.Warn("cfos request refused: retained requests are not executed", "topic", topic)
			return
		}
		q = d.reqs
	}
	select {
	case q <- m:
	default:
		d.count("dropped")
	}
}

// Run serves until ctx is done.
func (d *Dialect) Run(ctx context.Context, sub *bus.Subscription) error {
	up := make(chan struct{}, 1)
	c, err := d.mq.DialMQTT("cfos", func() {
		select {
		case up <- struct{}{}:
		default:
		}
	}, d.onMessage)
	if err != nil {
		return fmt.Errorf("cfos: %w", err)
	}
	d.conn = c
	var wg sync.WaitGroup
	wctx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		wg.Wait()
		d.forgetMeters(ctx)
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = c.Close(cctx)
	}()
	wg.Go(func() { d.requestWorker(wctx) })
	for _, f := range []string{d.root + "/set/+", d.root + "/ctl", d.root + "/api/#"} {
		if err := c.Subscribe(f); err != nil {
			return fmt.Errorf("cfos: %w", err)
		}
	}
	d.initSessions(ctx)
	d.log.Info("cfos dialect started", "root", d.root, "wallboxes", len(d.cfg.Wallboxes))
	tick := time.NewTicker(d.cfg.Interval.D())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-up:
			clear(d.published) // everything again after a (re)connect
			d.publishState(ctx)
		case m := <-d.msgs:
			d.meterInput(strings.TrimPrefix(m.topic, d.root+"/set/"), m.payload)
		case now := <-tick.C:
			d.staleMeters(now)
			d.publishState(ctx)
		case v := <-sub.Values:
			d.value(ctx, v)
		case <-sub.States:
		case e := <-sub.Events:
			d.event(ctx, e)
		}
	}
}

// requestWorker executes ctl and api requests one by one (writes may
// wait for a device) until ctx is done.
func (d *Dialect) requestWorker(ctx context.Context) {
	ctx = bus.WithSource(ctx, Source)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-d.reqs:
			d.request(ctx, m)
		}
	}
}

// request executes one ctl or api message.
func (d *Dialect) request(ctx context.Context, m inMsg) {
	switch rest := strings.TrimPrefix(m.topic, d.root+"/"); {
	case rest == "ctl":
		d.control(ctx, m.payload)
	case strings.HasPrefix(rest, "api/"):
		d.api(ctx, strings.TrimPrefix(rest, "api/"), m.payload)
	}
}

// send publishes one message and counts it.
func (d *Dialect) send(ctx context.Context, topic string, payload []byte, retain bool) {
	if d.conn == nil {
		return
	}
	if err := d.conn.Publish(ctx, topic, payload, 0, retain); err != nil {
		d.count("failed")
		d.log.Debug("cfos message not published", "topic", topic, "err", err)
		return
	}
	d.count("published")
}

// logLine logs with slog and publishes the line on <root>/log:
// "<RFC 3339 time> <LEVEL> <message> key=value …".
func (d *Dialect) logLine(level slog.Level, msg string, args ...any) {
	d.log.Log(context.Background(), level, msg, args...)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", time.Now().UTC().Format(time.RFC3339), level, msg)
	for i := 0; i+1 < len(args); i += 2 {
		fmt.Fprintf(&b, " %v=%v", args[i], args[i+1])
	}
	d.send(context.Background(), d.root+"/log", []byte(b.String()), false)
}

// write writes one datapoint through the bus (limits, audit source cfos).
func (d *Dialect) write(ctx context.Context, device, name string, v any) error {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if _, err := d.bus.Write(wctx, device, name, v); err != nil {
		d.count("write_failed")
		return fmt.Errorf("%s/%s: %w", device, name, err)
	}
	d.count("write")
	return nil
}

// same reports whether device/name holds v already (a duplicate request).
func (d *Dialect) same(device, name string, v any) bool {
	_, last, has, _ := d.bus.Datapoint(device, name)
	if !has || last.Quality != model.Good {
		return false
	}
	if f, ok := v.(float64); ok {
		g, ok := model.AsFloat(last.Value)
		return ok && g == f
	}
	return last.Value == v
}
