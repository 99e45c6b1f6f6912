package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// load is one measured run: a publisher, subs subscribers, n messages of
// size bytes at qos, at most window messages published but not yet
// delivered to every subscriber (an end-to-end window, so neither broker
// queues beyond it and nothing is dropped at QoS 0 either).
type load struct {
	addr   string
	subs   int
	n      int
	size   int
	qos    byte
	window int
}

// outcome is what a run delivered and how long it took, first publish to
// last delivery.
type outcome struct {
	delivered  int64
	outOfOrder int64
	elapsed    time.Duration
}

func (o outcome) rate() float64 { return float64(o.delivered) / o.elapsed.Seconds() }

// flow is the end-to-end window: subscribers count, the publisher waits
// while sent − min(delivered) ≥ window and is woken at half the window.
type flow struct {
	counts  []atomic.Int64
	next    []atomic.Int64 // next sequence number each subscriber expects (order check)
	disord  atomic.Int64
	sent    atomic.Int64
	waiting atomic.Bool
	wake    chan struct{}
	window  int64
	last    atomic.Int64 // unix ns of the last delivery
}

func (f *flow) min() int64 {
	m := f.counts[0].Load()
	for i := 1; i < len(f.counts); i++ {
		m = min(m, f.counts[i].Load())
	}
	return m
}

func (f *flow) delivered(i int, seq int64) {
	if f.next[i].Load() != seq {
		f.disord.Add(1)
	}
	f.next[i].Store(seq + 1)
	f.counts[i].Add(1)
	f.last.Store(time.Now().UnixNano())
	if f.waiting.Load() && f.sent.Load()-f.min() <= f.window/2 {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// await blocks until the window has room; false after idle without progress.
func (f *flow) await(idle time.Duration) bool {
	for f.sent.Load()-f.min() >= f.window {
		f.waiting.Store(true)
		if f.sent.Load()-f.min() < f.window {
			f.waiting.Store(false)
			return true
		}
		select {
		case <-f.wake:
		case <-time.After(idle):
			f.waiting.Store(false)
			return f.sent.Load()-f.min() < f.window
		}
		f.waiting.Store(false)
	}
	return true
}

// bufConn reads through a buffer: paho reads a packet's header byte by
// byte, and the clients' CPU is taken from the same two cores as the
// brokers'. Writes go straight to the TCP connection (one writev per
// packet, which keeps paho's concurrent writes whole).
type bufConn struct {
	*net.TCPConn
	r *bufio.Reader
}

func (c bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func dial(ctx context.Context, addr, id string, onMsg func(paho.PublishReceived) (bool, error)) (*paho.Client, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	conn := nc.(*net.TCPConn)
	cfg := paho.ClientConfig{ClientID: id, Conn: bufConn{conn, bufio.NewReaderSize(conn, 32<<10)}}
	if onMsg != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){onMsg}
	}
	c := paho.NewClient(cfg)
	ca, err := c.Connect(ctx, &paho.Connect{
		ClientID: id, KeepAlive: 60, CleanStart: true,
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect %s: %w", id, err)
	}
	if ca.ReasonCode != 0 {
		conn.Close()
		return nil, fmt.Errorf("connect %s: reason %d", id, ca.ReasonCode)
	}
	return c, nil
}

// run measures one load. Clients are the same code for every broker.
func run(ctx context.Context, l load, tag string) (outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	f := &flow{counts: make([]atomic.Int64, l.subs), next: make([]atomic.Int64, l.subs),
		wake: make(chan struct{}, 1), window: int64(l.window)}
	topic := fmt.Sprintf("bench/%s/%d", tag, time.Now().UnixNano())
	var clients []*paho.Client
	defer func() {
		for _, c := range clients {
			_ = c.Disconnect(&paho.Disconnect{})
		}
	}()
	for i := range l.subs {
		c, err := dial(ctx, l.addr, fmt.Sprintf("%s-sub-%d-%d", tag, i, time.Now().UnixNano()), func(r paho.PublishReceived) (bool, error) {
			if p := r.Packet.Payload; len(p) >= 8 {
				f.delivered(i, int64(binary.BigEndian.Uint64(p)))
			}
			return true, nil
		})
		if err != nil {
			return outcome{}, err
		}
		clients = append(clients, c)
		if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: l.qos}}}); err != nil {
			return outcome{}, fmt.Errorf("subscribe: %w", err)
		}
	}
	pub, err := dial(ctx, l.addr, tag+"-pub", nil)
	if err != nil {
		return outcome{}, err
	}
	clients = append(clients, pub)
	start := time.Now()
	if err := publish(ctx, pub, f, l, topic); err != nil {
		return outcome{}, err
	}
	want := int64(l.n)
	for f.min() < want && ctx.Err() == nil {
		if time.Since(time.Unix(0, f.last.Load())) > 3*time.Second {
			break // lost messages: reported as delivered < sent
		}
		time.Sleep(time.Millisecond)
	}
	var total int64
	for i := range f.counts {
		total += f.counts[i].Load()
	}
	return outcome{delivered: total, outOfOrder: f.disord.Load(), elapsed: time.Unix(0, f.last.Load()).Sub(start)}, nil
}

func publish(ctx context.Context, pub *paho.Client, f *flow, l load, topic string) error {
	opts := paho.PublishOptions{Method: paho.PublishMethod_AsyncSend}
	for seq := range l.n {
		if !f.await(3 * time.Second) {
			return fmt.Errorf("no delivery for 3 s after %d messages (%d delivered to the slowest subscriber)", seq, f.min())
		}
		payload := make([]byte, l.size)
		binary.BigEndian.PutUint64(payload, uint64(seq))
		f.sent.Add(1)
		if _, err := pub.PublishWithOptions(ctx, &paho.Publish{Topic: topic, QoS: l.qos, Payload: payload}, opts); err != nil {
			return fmt.Errorf("publish %d: %w", seq, err)
		}
	}
	return nil
}
