package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gridbox/gridbox/model"
)

const (
	minBackoff    = 250 * time.Millisecond
	maxBackoff    = 5 * time.Second
	stateInterval = 10 * time.Second
)

// sendLoop connects, sends the queue from the last acknowledged message on,
// and reconnects after an outage, until ctx is done.
func (s *Sink) sendLoop(ctx context.Context) error {
	backoff, everUp, logged := minBackoff, false, false
	for ctx.Err() == nil {
		l, err := s.d.connect(ctx)
		if err != nil {
			if !logged {
				s.log.Warn("uplink: remote broker unreachable; values stay queued", "broker", s.d.t.redacted, "err", err)
				logged = true
			}
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		if everUp {
			s.m.reconnects.Inc()
		}
		everUp, logged = true, false
		s.m.connected.Set(1)
		s.cur.Store(&l)
		s.log.Info("uplink connected", "broker", s.d.t.redacted, "acked_seq", s.q.Stats().Acked)
		began := time.Now()
		err = s.pump(ctx, l)
		s.cur.Store(nil)
		s.m.connected.Set(0)
		if ctx.Err() != nil {
			s.publishWait(l, s.root+"/$state", []byte(`{"online":false}`), true)
		}
		l.close()
		if time.Since(began) >= 10*time.Second {
			backoff = minBackoff
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("uplink connection lost; resending from the last acknowledged message", "err", err)
			if time.Since(began) < 10*time.Second { // failing right away (a refused publish): do not spin
				select {
				case <-ctx.Done():
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, maxBackoff)
			}
		}
	}
	return nil
}

type ackResult struct {
	seq, values uint64
	err         error
}

// pump keeps up to window messages in flight and deletes acknowledged ones
// from the queue in order. It returns when the link fails or ctx is done.
func (s *Sink) pump(ctx context.Context, l link) error {
	topic := s.root + "/data"
	if s.cfg.Format == FormatDatalogger {
		topic = s.root + "/u/data"
		s.dlMeta(l)
	} else {
		s.publishMeta(l)
	}
	s.publishState(l)
	stateTick := time.NewTicker(stateInterval)
	defer stateTick.Stop()
	results := make(chan ackResult, s.cfg.Window)
	type flight struct {
		seq, values uint64
		done        bool
	}
	var inflight []flight
	after := s.q.Stats().Acked
	for {
		for len(inflight) < s.cfg.Window {
			b, ok := s.q.Next(after)
			if !ok {
				break
			}
			payload, err := s.message(b)
			if errors.Is(err, errDropped) {
				after = b.seq
				continue
			}
			if err != nil {
				return err
			}
			seq, n := b.seq, uint64(b.n)
			if err := l.send(topic, payload, s.contentType(), false, func(err error) { results <- ackResult{seq, n, err} }); err != nil {
				return err
			}
			s.m.sentMsgs.Inc()
			inflight, after = append(inflight, flight{seq: seq, values: n}), seq
		}
		select {
		case <-ctx.Done():
			return nil
		case <-l.lost():
			return errLost
		case <-s.q.Notify():
		case <-stateTick.C:
			s.publishState(l)
		case r := <-results:
			if r.err != nil {
				return fmt.Errorf("seq %d: %w", r.seq, r.err)
			}
			for i := range inflight {
				if inflight[i].seq == r.seq {
					inflight[i].done = true
				}
			}
			var last uint64
			for len(inflight) > 0 && inflight[0].done {
				last = inflight[0].seq
				s.m.ackedValues.Add(float64(inflight[0].values))
				inflight = inflight[1:]
			}
			if last > 0 {
				if err := s.q.Ack(last); err != nil {
					return err
				}
			}
		}
	}
}

var (
	errDropped  = errors.New("message dropped by the overflow policy")
	errTooLarge = errors.New("larger than a queue record (1 MiB)")
)

// message reads a queued message and encodes it for the wire.
func (s *Sink) message(b batch) ([]byte, error) {
	vals, err := s.q.Read(b)
	if err != nil {
		if b.seq <= s.q.Stats().Acked {
			return nil, errDropped
		}
		return nil, err
	}
	if s.cfg.Format == FormatDatalogger { // one u/data payload per message
		if len(vals) != 1 || len(vals[0]) == 0 || vals[0][0] != '{' || !bytes.HasPrefix(vals[0], []byte(`{"t":`)) {
			// queued before format: datalogger was set: not a u/data payload
			s.m.dropped.WithLabelValues("format").Add(float64(len(vals)))
			s.log.Warn("queued message is not a u/data payload (queued with another format): skipped", "seq", b.seq, "values", len(vals))
			return nil, errDropped
		}
		return vals[0], nil
	}
	return encodeMessage(s.env.Site, b.seq, model.NowMs(), vals, s.cfg.Gzip)
}

func (s *Sink) contentType() string {
	if s.cfg.Gzip {
		return ContentGzip
	}
	return ContentJSON
}

// publishState publishes the retained <root>/$state: online, and the
// queue with its policy, so the fleet sees an overflow.
func (s *Sink) publishState(l link) {
	st := s.q.Stats()
	doc := map[string]any{
		"online": true, "version": s.env.Version,
		"queue": map[string]any{
			"bytes": st.Bytes, "max_bytes": s.maxBytes, "values": st.Values, "messages": st.Messages,
			"acked_seq": st.Acked, "overflow": s.cfg.Overflow, "degraded": s.degraded.Load(), "dropped": st.Dropped,
		},
	}
	b, _ := json.Marshal(doc)
	_ = l.send(s.root+"/$state", b, ContentJSON, true, func(error) {})
}

// publishWait publishes one message and waits (briefly) for its PUBACK.
func (s *Sink) publishWait(l link, topic string, p []byte, retain bool) error {
	done := make(chan error, 1)
	if err := l.send(topic, p, ContentJSON, retain, func(err error) { done <- err }); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		return errors.New("no PUBACK within 5s")
	}
}
