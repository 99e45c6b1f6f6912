// Package fanout measures an MQTT broker the way its users meet it: one
// publisher and several subscribers, all paho clients over TCP, every
// delivery counted per subscriber (duplicates of a QoS 1 redelivery are
// counted once).
package fanout

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Options describe one run.
type Options struct {
	Addr        string        // broker host:port
	Topic       string        // topic the messages go to
	Subscribers int           // default 4
	Messages    int           // default 200 000
	Size        int           // payload bytes, at least 8; default 64
	QoS         byte          // 0 or 1, for the publisher and the subscriptions
	Idle        time.Duration // stop waiting after this long without a delivery; default 3 s
}

// Result is what one run delivered.
type Result struct {
	Sent      int           // messages the publisher handed over (QoS 1: acknowledged)
	Delivered []int         // distinct messages per subscriber
	Elapsed   time.Duration // first publish to last delivery
}

// Lost is the number of deliveries missing over all subscribers.
func (r Result) Lost() int {
	lost := 0
	for _, d := range r.Delivered {
		lost += r.Sent - d
	}
	return lost
}

// Rate is deliveries per second over all subscribers.
func (r Result) Rate() float64 {
	total := 0
	for _, d := range r.Delivered {
		total += d
	}
	return float64(total) / r.Elapsed.Seconds()
}

func (o Options) withDefaults() Options {
	if o.Subscribers <= 0 {
		o.Subscribers = 4
	}
	if o.Messages <= 0 {
		o.Messages = 200_000
	}
	if o.Size < 8 {
		o.Size = 64
	}
	if o.Idle <= 0 {
		o.Idle = 3 * time.Second
	}
	if o.Topic == "" {
		o.Topic = fmt.Sprintf("fanout/%d", time.Now().UnixNano())
	}
	return o
}

// subscriber counts distinct sequence numbers.
type subscriber struct {
	c     paho.Client
	mu    sync.Mutex
	seen  []bool
	count int
	last  atomic.Int64 // unix ns of the last delivery
}

func (s *subscriber) onMessage(_ paho.Client, m paho.Message) {
	p := m.Payload()
	if len(p) < 8 {
		return
	}
	n := binary.BigEndian.Uint64(p)
	s.mu.Lock()
	if n < uint64(len(s.seen)) && !s.seen[n] {
		s.seen[n] = true
		s.count++
	}
	s.mu.Unlock()
	s.last.Store(time.Now().UnixNano())
}

func (s *subscriber) delivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

func connect(addr, id string, h paho.MessageHandler) (paho.Client, error) {
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetAutoReconnect(false).SetCleanSession(true).SetOrderMatters(false).
		SetWriteTimeout(10 * time.Second)
	if h != nil {
		o.SetDefaultPublishHandler(h)
	}
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("connect %s to %s: %v", id, addr, tok.Error())
	}
	return c, nil
}

// Run publishes o.Messages and waits until every subscriber has them all or
// none has received anything for o.Idle.
func Run(ctx context.Context, o Options) (Result, error) {
	o = o.withDefaults()
	subs := make([]*subscriber, o.Subscribers)
	defer func() {
		for _, s := range subs {
			if s != nil && s.c != nil {
				s.c.Disconnect(0)
			}
		}
	}()
	for i := range subs {
		s := &subscriber{seen: make([]bool, o.Messages)}
		c, err := connect(o.Addr, fmt.Sprintf("fanout-sub-%d-%d", i, time.Now().UnixNano()), s.onMessage)
		if err != nil {
			return Result{}, err
		}
		s.c = c
		subs[i] = s
		if tok := c.Subscribe(o.Topic, o.QoS, s.onMessage); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return Result{}, fmt.Errorf("subscribe %s: %v", o.Topic, tok.Error())
		}
	}
	pub, err := connect(o.Addr, fmt.Sprintf("fanout-pub-%d", time.Now().UnixNano()), nil)
	if err != nil {
		return Result{}, err
	}
	defer pub.Disconnect(0)
	start := time.Now()
	sent, err := publish(ctx, pub, o)
	res := Result{Sent: sent, Delivered: make([]int, len(subs))}
	if err != nil {
		return res, err
	}
	res.Elapsed = wait(ctx, subs, sent, o.Idle, start)
	for i, s := range subs {
		res.Delivered[i] = s.delivered()
	}
	return res, nil
}

// publish sends the messages; at QoS 1 it keeps a window of unacknowledged
// ones and counts only acknowledged messages as sent.
func publish(ctx context.Context, pub paho.Client, o Options) (int, error) {
	const window = 1000
	payload := make([]byte, o.Size)
	var pending []paho.Token
	sent := 0
	settle := func(toks []paho.Token) error {
		for _, t := range toks {
			if !t.WaitTimeout(30*time.Second) || t.Error() != nil {
				return fmt.Errorf("publish: %v", t.Error())
			}
			sent++
		}
		return nil
	}
	for n := range o.Messages {
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
		binary.BigEndian.PutUint64(payload, uint64(n))
		pending = append(pending, pub.Publish(o.Topic, o.QoS, false, append([]byte(nil), payload...)))
		if len(pending) == window {
			if err := settle(pending); err != nil {
				return sent, err
			}
			pending = pending[:0]
		}
	}
	return sent, settle(pending)
}

// wait returns when every subscriber has want messages or when no delivery
// has come for idle; the duration is from start to the last delivery.
func wait(ctx context.Context, subs []*subscriber, want int, idle time.Duration, start time.Time) time.Duration {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		done := true
		var last int64
		for _, s := range subs {
			if s.delivered() < want {
				done = false
			}
			last = max(last, s.last.Load())
		}
		lastAt := time.Unix(0, last)
		if done || (last > 0 && time.Since(lastAt) > idle) || (last == 0 && time.Since(start) > idle) {
			if last == 0 {
				return time.Since(start)
			}
			return lastAt.Sub(start)
		}
		select {
		case <-ctx.Done():
			return time.Since(start)
		case <-tick.C:
		}
	}
}
