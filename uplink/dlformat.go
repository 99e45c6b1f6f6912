package uplink

import (
	"context"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/dialect/datalogger/record"
)

// Format datalogger: every read_interval the edge datalogger's u/data
// payload (built by package record, as the datalogger dialect does) is
// written to the disk queue as one message of its own and sent, QoS 1, to
// <root>/u/data in order; nothing is lost while the remote is away. After
// every connect the retained <root>/u/meta/* are cleared and published.
// With topic_root a/<node_id> these are the topics a datalogger's broker
// bridge used (docs/uplink.md#the-datalogger-format).

// writeDatalogger is write for format datalogger.
func (s *Sink) writeDatalogger(ctx context.Context, sub *bus.Subscription) error {
	if s.q.Open() > 0 { // a payload left unsealed by a crash goes as it is
		if err := s.q.Cut(); err != nil {
			return err
		}
	}
	c := record.NewCollector(s.cfg.Datalogger)
	c.Seed(s.env.Bus)
	opts := c.Options()
	timer := time.NewTimer(time.Until(opts.NextCycle(time.Now())))
	defer timer.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case v := <-sub.Values:
			if s.cfg.selected(v.Device + "/" + v.Name) {
				c.Value(v)
			}
		case st := <-sub.States:
			c.State(st)
		case e := <-sub.Events:
			c.Event(e)
		case <-s.readNowCh:
			if err := s.dlCycle(c, time.Now()); err != nil {
				return err
			}
		case now := <-timer.C:
			if err := s.dlCycle(c, opts.CycleStart(now)); err != nil {
				return err
			}
			timer.Reset(time.Until(opts.NextCycle(now)))
		case now := <-tick.C:
			st := s.q.Stats()
			s.m.queueBytes.Set(float64(st.Bytes))
			s.m.queueValues.Set(float64(st.Values))
			s.m.ackedSeq.Set(float64(st.Acked))
			s.localStatus(st, now)
		}
	}
}

// dlCycle queues the payload of the cycle starting at t as one message.
func (s *Sink) dlCycle(c *record.Collector, t time.Time) error {
	id := ""
	if s.ctl != nil {
		id = s.ctl.ConfigID()
	}
	p, ok := c.Build(t, id)
	if !ok {
		return nil
	}
	b, err := record.Encode(p)
	if err == nil && len(b) > maxRec-recHead {
		err = errTooLarge
	}
	if err != nil {
		s.m.dropped.WithLabelValues("encode").Add(float64(len(p.R)))
		s.log.Warn("u/data payload not queued", "records", len(p.R), "bytes", len(b), "err", err)
		return nil
	}
	if err := s.queue([][]byte{b}); err != nil {
		return err
	}
	var opened time.Time
	if err := s.cut(&opened); err != nil {
		return err
	}
	c.Sent() // on disk: its status items go out with it
	return nil
}

// dlMeta clears and publishes the retained <root>/u/meta/*.
func (s *Sink) dlMeta(l link) {
	for _, kv := range record.MetaTopics(time.UnixMilli(s.started), s.env.Version) {
		_ = l.send(s.root+"/u/meta/"+kv[0], nil, contentText, true, func(error) {})
		_ = l.send(s.root+"/u/meta/"+kv[0], []byte(kv[1]), contentText, true, func(error) {})
	}
}
