// Package uplink is the `uplink` sink kind: an MQTT bridge to a remote
// (fleet) broker that loses no value. Values are written to a disk queue
// first (queue.go), sealed into numbered messages (seq, gap-free, never
// reused) and deleted only after the remote's PUBACK; several messages are
// in flight at once. The remote may configure the gateway and run
// allow-listed commands on <root>/cmd/... (control.go).
package uplink

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// Kind is the `uplink` sink kind; a list of instances uplinks to several remotes.
func Kind() sink.Kind {
	return sink.Kind{
		Name: "uplink", List: true,
		NewConfig: func() sink.Config { return newConfig() },
		New:       newSink,
	}
}

// Sink is one running uplink.
type Sink struct {
	cfg      *Config
	env      sink.Env
	log      *slog.Logger
	root     string
	maxBytes int64
	q        *Queue
	d        *dialer
	m        *metrics
	ctl      Controller
	started  int64
	agg      *aggregator

	inbox     chan inbound         // down-link messages, handled by the control loop
	readNowCh chan [][]byte        // values read-now queues, written by the writer
	cur       atomic.Pointer[link] // the connected link, for answers
	degraded  atomic.Bool
	wg        sync.WaitGroup
	status    localStatus // what the gateway's $state last said of this uplink
}

type inbound struct {
	topic   string
	payload []byte
}

func newSink(ctx context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
	cfg, ok := c.(*Config)
	if !ok {
		return nil, fmt.Errorf("uplink: config is %T, want *uplink.Config", c)
	}
	t, err := parseBroker(cfg.Broker)
	if err != nil {
		return nil, fmt.Errorf("broker %w", err)
	}
	if cfg.Username != "" {
		t.user = cfg.Username
	}
	if cfg.Password != "" {
		t.pass = cfg.Password
	}
	max, err := ParseSize(cfg.MaxQueue)
	if err != nil {
		return nil, fmt.Errorf("max_queue %w", err)
	}
	s := &Sink{
		cfg: cfg, env: env, log: env.Log, root: cfg.TopicRoot, maxBytes: max,
		ctl: ControllerFrom(ctx), started: model.NowMs(), inbox: make(chan inbound, 64), readNowCh: make(chan [][]byte, 1),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.root == "" {
		s.root = env.Site
	}
	if s.root == "" {
		s.root = "gridbox"
	}
	if s.m, err = newMetrics(env.Metrics); err != nil {
		return nil, fmt.Errorf("uplink metrics: %w", err)
	}
	s.m.queueLimit.Set(float64(max))
	tlsCfg, err := tlsConfig(cfg)
	if t.tls && err != nil {
		return nil, err
	}
	clientID := cfg.ClientID
	if clientID == "" {
		clientID = "gridbox-" + s.root + "-" + env.Name
	}
	s.d = &dialer{
		t: t, tls: tlsCfg, clientID: clientID, keepAlive: cfg.KeepAlive.D(),
		willTopic: s.root + "/$state", will: []byte(`{"online":false}`),
		subscribe: s.root + "/cmd/+", onMessage: s.receive,
	}
	if cfg.Downlink == DownlinkDatalogger {
		s.d.subscribe = s.root + "/d/+"
	}
	dir := cfg.Dir
	if dir == "" {
		root := env.DataDir // the store's directory
		if root == "" {
			root = DefaultDirRoot
		}
		dir = filepath.Join(root, "uplink-"+env.Name)
	}
	seg := min(max/8, 16<<20)
	if s.q, err = OpenQueue(dir, seg); err != nil {
		return nil, err
	}
	s.agg = newAggregator(cfg.Aggregate.D(), func(device, name string) model.Meta {
		dp, _, _, _ := env.Bus.Datapoint(device, name)
		return dp.Meta
	})
	st := s.q.Stats()
	s.m.queueBytes.Set(float64(st.Bytes))
	s.m.queueValues.Set(float64(st.Values))
	s.m.ackedSeq.Set(float64(st.Acked))
	s.log.Info("uplink queue opened", "dir", dir, "values", st.Values, "messages", st.Messages, "next_seq", st.Next)
	return s, nil
}

// receive is called on the client's goroutine: it queues and never blocks.
func (s *Sink) receive(topic string, p []byte) {
	select {
	case s.inbox <- inbound{topic: topic, payload: append([]byte(nil), p...)}:
	default:
		s.m.commands.WithLabelValues("any", "refused").Inc()
		s.log.Warn("down-link message dropped: too many waiting", "topic", topic)
	}
}

// Run writes the subscription to the queue and sends the queue until ctx is done.
func (s *Sink) Run(ctx context.Context, sub *bus.Subscription) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	for _, f := range []func(context.Context) error{
		func(ctx context.Context) error { return s.write(ctx, sub) },
		s.sendLoop, s.controlLoop,
	} {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := f(ctx); err != nil {
				errc <- err
				cancel()
			}
		}()
	}
	s.wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// Close closes the queue.
func (s *Sink) Close() error { return s.q.Close() }

// write appends the bus's values to the queue and seals messages by size and age.
func (s *Sink) write(ctx context.Context, sub *bus.Subscription) error {
	tick := time.NewTicker(max(s.cfg.BatchAge.D()/4, 10*time.Millisecond))
	defer tick.Stop()
	var opened time.Time
	if s.q.Open() > 0 { // values left unsealed by a crash are sealed after batch_age
		opened = time.Now()
	}
	buf := make([][]byte, 0, s.cfg.BatchSize)
	for {
		select {
		case <-ctx.Done():
			return s.drain(sub)
		case v := <-sub.Values:
			buf = s.take(buf[:0], v)
			for len(buf) < s.cfg.BatchSize-s.q.Open() {
				select {
				case v := <-sub.Values:
					buf = s.take(buf, v)
					continue
				default:
				}
				break
			}
			if err := s.queue(buf); err != nil {
				return err
			}
			if opened.IsZero() {
				opened = time.Now()
			}
			if s.q.Open() >= s.cfg.BatchSize {
				if err := s.cut(&opened); err != nil {
					return err
				}
			}
		case buf := <-s.readNowCh:
			if err := s.queue(buf); err != nil {
				return err
			}
			if err := s.cut(&opened); err != nil {
				return err
			}
		case <-sub.States:
		case <-sub.Events:
		case now := <-tick.C:
			if err := s.tick(now, &opened); err != nil {
				return err
			}
		}
	}
}

// drain queues the values waiting in the subscription (as the store does
// when it stops, so the uplink never has fewer) and seals them.
func (s *Sink) drain(sub *bus.Subscription) error {
	var buf [][]byte
	for n := len(sub.Values); n > 0; n-- {
		buf = s.take(buf, <-sub.Values)
	}
	if err := s.queue(buf); err != nil {
		return err
	}
	return s.q.Cut()
}

// take encodes a value (and feeds the rollups) if its datapoint goes up.
func (s *Sink) take(buf [][]byte, v model.Value) [][]byte {
	key := v.Device + "/" + v.Name
	if !s.cfg.selected(key) {
		return buf
	}
	s.agg.add(v) // rollups are also published locally ($aggregated)
	if s.cfg.Send == "aggregated" {
		return buf
	}
	if s.degraded.Load() {
		s.m.dropped.WithLabelValues("degraded").Inc()
		return buf
	}
	b, err := encodeValue(nil, v)
	if err != nil {
		s.m.dropped.WithLabelValues("encode").Inc()
		s.log.Debug("value not sent", "device", v.Device, "datapoint", v.Name, "err", err)
		return buf
	}
	return append(buf, b)
}

func (s *Sink) queue(buf [][]byte) error {
	if len(buf) == 0 {
		return nil
	}
	if err := s.q.Append(buf); err != nil {
		return err
	}
	s.m.queued.Add(float64(len(buf)))
	return nil
}

func (s *Sink) cut(opened *time.Time) error {
	*opened = time.Time{}
	if err := s.q.Cut(); err != nil {
		return err
	}
	return s.bound()
}

// tick seals an old enough open message, emits closed rollup windows and
// refreshes the queue metrics.
func (s *Sink) tick(now time.Time, opened *time.Time) error {
	rollups := s.agg.flush(now.UnixMilli()) // windows close also while only raw values go up
	s.announce(rollups)
	if s.cfg.Send != "raw" || s.degraded.Load() {
		var buf [][]byte
		for _, v := range rollups {
			if b, err := encodeValue(nil, v); err == nil {
				buf = append(buf, b)
			}
		}
		if err := s.queue(buf); err != nil {
			return err
		}
		if len(buf) > 0 && opened.IsZero() {
			*opened = now
		}
	}
	if !opened.IsZero() && now.Sub(*opened) >= s.cfg.BatchAge.D() {
		if err := s.cut(opened); err != nil {
			return err
		}
	}
	st := s.q.Stats()
	s.m.queueBytes.Set(float64(st.Bytes))
	s.m.queueValues.Set(float64(st.Values))
	s.m.ackedSeq.Set(float64(st.Acked))
	s.localStatus(st, now)
	return nil
}

// bound applies the overflow policy: degrade sends rollups only above 90 %
// of max_queue (raw values again below 70 %); beyond max_queue the oldest
// messages are dropped whatever the policy.
func (s *Sink) bound() error {
	st := s.q.Stats()
	if s.cfg.Overflow == "degrade" {
		switch {
		case !s.degraded.Load() && st.Bytes >= s.maxBytes*9/10:
			s.degraded.Store(true)
			s.m.degraded.Set(1)
			s.log.Warn("uplink queue near its bound: sending rollups only (overflow: degrade)", "bytes", st.Bytes, "max", s.maxBytes)
		case s.degraded.Load() && st.Bytes < s.maxBytes*7/10:
			s.degraded.Store(false)
			s.m.degraded.Set(0)
			s.log.Info("uplink queue below 70 %: sending raw values again")
		}
	}
	for st.Bytes > s.maxBytes {
		n, err := s.q.DropOldest()
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		s.m.dropped.WithLabelValues("overflow").Add(float64(n))
		s.log.Warn("uplink queue full: oldest values dropped", "values", n, "max_queue", s.cfg.MaxQueue)
		st = s.q.Stats()
	}
	return nil
}
