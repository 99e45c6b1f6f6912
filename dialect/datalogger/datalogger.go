// Package datalogger is the edge datalogger's dialect: gridbox's values as
// the datalogger's u/data payloads (Unix seconds, `_d`, `_vid`, `_s`
// status items) with its u/meta/* topics on the gateway's broker, and its
// d/config and d/command down-link answered the datalogger's way — so the
// broker bridge and the back end of an existing datalogger keep working
// (README.md, docs/dialect-datalogger.md).
package datalogger

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/dialect/datalogger/record"
	"github.com/gridbox/gridbox/sink"
	"github.com/gridbox/gridbox/uplink"
)

// Topics of the datalogger's local broker.
const (
	TopicData            = "u/data"
	TopicMeta            = "u/meta/"
	TopicLog             = "u/log/msg"
	TopicCommandResponse = "u/command_response"
	TopicConfig          = "d/config"
	TopicCommand         = "d/command"
	publishTimeout       = 10 * time.Second
	inboxSize            = 16
)

// Dialect publishes the u/ topics and answers the d/ ones. Run owns its state.
type Dialect struct {
	bus     *bus.Bus
	mq      sink.MQTT
	cfg     Config
	ctl     uplink.Controller // nil: d/config and reload are answered as not supported
	version string
	log     *slog.Logger
	count   func(string)
	inbox   chan inMsg
	up      chan struct{}
	started time.Time

	// owned by Run
	conn sink.MQTTConn
	rec  *record.Collector
}

type inMsg struct {
	topic   string
	payload []byte
}

// New prepares the dialect from a validated config; Run connects. ctl may be nil.
func New(b *bus.Bus, mq sink.MQTT, c Config, ctl uplink.Controller, version string, log *slog.Logger, count func(string)) (*Dialect, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s", errs[0].Path, errs[0].Msg)
	}
	return &Dialect{bus: b, mq: mq, cfg: c.withDefaults(), ctl: ctl, version: version, log: log, count: count,
		inbox: make(chan inMsg, inboxSize), up: make(chan struct{}, 1), started: time.Now(),
		rec: record.NewCollector(c.options())}, nil
}

func (d *Dialect) onMessage(topic string, payload []byte, retained bool) {
	if retained { // a stored command or config is not run again at every connect
		d.count("refused")
		d.log.Warn("datalogger down-link message refused: retained", "topic", topic)
		return
	}
	select {
	case d.inbox <- inMsg{topic: topic, payload: bytes.Clone(payload)}:
	default:
		d.count("dropped")
		d.log.Warn("datalogger down-link message dropped: busy", "topic", topic)
	}
}

// Run serves until ctx is done.
func (d *Dialect) Run(ctx context.Context, sub *bus.Subscription) error {
	conn, err := d.mq.DialMQTT("datalogger", func() {
		select {
		case d.up <- struct{}{}:
		default:
		}
	}, d.onMessage)
	if err != nil {
		return fmt.Errorf("datalogger: %w", err)
	}
	d.conn = conn
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	for _, f := range []string{TopicCommand, TopicConfig} {
		if err := conn.Subscribe(f); err != nil {
			return fmt.Errorf("datalogger: %w", err)
		}
	}
	d.rec.Seed(d.bus)
	every := d.cfg.ReadInterval.D()
	opts := d.rec.Options()
	timer := time.NewTimer(time.Until(opts.NextCycle(time.Now())))
	defer timer.Stop()
	d.log.Info("datalogger dialect started", "read_interval", every, "read_roundtime", d.cfg.ReadRoundtime)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-d.up:
			d.meta(ctx)
		case m := <-d.inbox:
			d.downlink(ctx, m)
		case v := <-sub.Values:
			d.rec.Value(v)
		case st := <-sub.States:
			d.rec.State(st)
		case e := <-sub.Events:
			d.rec.Event(e)
		case now := <-timer.C:
			d.cycle(ctx, opts.CycleStart(now))
			timer.Reset(time.Until(opts.NextCycle(now)))
		}
	}
}

// cycle publishes one u/data message for cycle start t.
func (d *Dialect) cycle(ctx context.Context, t time.Time) {
	id := ""
	if d.ctl != nil {
		id = d.ctl.ConfigID()
	}
	p, ok := d.rec.Build(t, id)
	if !ok {
		return
	}
	b, err := record.Encode(p)
	if err != nil {
		d.count("failed")
		d.log.Warn("datalogger payload not encoded", "err", err)
		return
	}
	if !d.send(ctx, TopicData, b, 1, false) {
		return // status items stay pending for the next cycle
	}
	d.rec.Sent()
}

// send publishes and counts; false when it failed.
func (d *Dialect) send(ctx context.Context, topic string, payload []byte, qos byte, retain bool) bool {
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if err := d.conn.Publish(pctx, topic, payload, qos, retain); err != nil {
		d.count("failed")
		d.log.Warn("datalogger message not published", "topic", topic, "err", err)
		return false
	}
	d.count("published")
	return true
}

// meta clears and publishes the retained u/meta/* topics after every (re)connect.
func (d *Dialect) meta(ctx context.Context) {
	for _, kv := range record.MetaTopics(d.started, d.version) {
		d.send(ctx, TopicMeta+kv[0], nil, 1, true)
		d.send(ctx, TopicMeta+kv[0], []byte(kv[1]), 1, true)
	}
}
