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
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
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
	conn     sink.MQTTConn
	values   map[string]map[string]model.Value
	sent     map[string]int // device → last status level sent
	statuses map[string]*Status
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
		values: map[string]map[string]model.Value{}, sent: map[string]int{}, statuses: map[string]*Status{}}, nil
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
	d.seed()
	every := d.cfg.ReadInterval.D()
	timer := time.NewTimer(time.Until(d.nextCycle(time.Now())))
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
			d.value(v)
		case st := <-sub.States:
			d.state(st)
		case e := <-sub.Events:
			d.event(e)
		case now := <-timer.C:
			d.cycle(ctx, d.cycleStart(now))
			timer.Reset(time.Until(d.nextCycle(now)))
		}
	}
}

// cycleStart is t of a cycle that begins at now.
func (d *Dialect) cycleStart(now time.Time) time.Time {
	if d.cfg.ReadRoundtime {
		return now.Add(time.Second / 2).Truncate(d.cfg.ReadInterval.D())
	}
	return now
}

// nextCycle is when the cycle after now begins.
func (d *Dialect) nextCycle(now time.Time) time.Time {
	every := d.cfg.ReadInterval.D()
	if d.cfg.ReadRoundtime {
		return now.Add(time.Second / 2).Truncate(every).Add(every)
	}
	return now.Add(every)
}

// seed takes the last values and states the bus has.
func (d *Dialect) seed() {
	for _, p := range d.bus.Datapoints() {
		if p.Last != nil {
			d.value(*p.Last)
		}
	}
	for _, st := range d.bus.Devices() {
		d.state(st)
	}
}

func (d *Dialect) value(v model.Value) {
	if !d.cfg.selected(v.Device) {
		return
	}
	m := d.values[v.Device]
	if m == nil {
		m = map[string]model.Value{}
		d.values[v.Device] = m
	}
	m[v.Name] = v
}

// state notes a status item when the device's level changed.
func (d *Dialect) state(st model.DeviceState) {
	if !d.cfg.selected(st.Device) {
		return
	}
	s := status(st)
	if lvl, seen := d.sent[st.Device]; seen && lvl == s.Level {
		return
	}
	d.statuses[st.Device] = &s
}

func (d *Dialect) event(e bus.Event) {
	switch e.Type {
	case bus.DeviceRemoved:
		delete(d.values, e.Device.Device)
		delete(d.statuses, e.Device.Device)
		delete(d.sent, e.Device.Device)
	case bus.DatapointRemoved:
		if m := d.values[e.Point.Device]; m != nil {
			delete(m, e.Point.Name)
		}
	}
}

// cycle publishes one u/data message for cycle start t.
func (d *Dialect) cycle(ctx context.Context, t time.Time) {
	began := time.Now()
	minMs := t.Add(-d.cfg.MaxAge.D()).UnixMilli()
	recs := records(snapshot{values: d.values, statuses: d.statuses}, d.vendorID, d.cfg.FieldNames, minMs)
	if len(recs) == 0 {
		return
	}
	p := Payload{T: t.Unix(), R: recs, M: Meta{DataProvider: DataProvider, ReadingDuration: time.Since(began).Seconds()}}
	if d.ctl != nil {
		p.M.ConfigID = d.ctl.ConfigID()
	}
	b, err := encode(p)
	if err != nil {
		d.count("failed")
		d.log.Warn("datalogger payload not encoded", "err", err)
		return
	}
	if !d.send(ctx, TopicData, b, 1, false) {
		return // status items stay pending for the next cycle
	}
	for dev, st := range d.statuses {
		d.sent[dev] = st.Level
	}
	clear(d.statuses)
}

func (d *Dialect) vendorID(dev string) string {
	if v, ok := d.cfg.VendorIDs[dev]; ok {
		return v
	}
	return dev
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
	for _, kv := range [][2]string{
		{"boot_time", bootTime(d.started).UTC().Format(time.RFC3339)},
		{"start_time", d.started.UTC().Format(time.RFC3339)},
		{"snap_rev", d.version},
		{"arch", runtime.GOARCH},
	} {
		d.send(ctx, TopicMeta+kv[0], nil, 1, true)
		d.send(ctx, TopicMeta+kv[0], []byte(kv[1]), 1, true)
	}
}

// bootTime is the host's boot time from /proc/stat (Linux), else fallback.
func bootTime(fallback time.Time) time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return fallback
	}
	for line := range strings.Lines(string(b)) {
		if s, ok := strings.CutPrefix(line, "btime "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
				return time.Unix(n, 0)
			}
		}
	}
	return fallback
}
