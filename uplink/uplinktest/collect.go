package uplinktest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/uplink"
)

// Collector is a remote-side subscriber with a persistent session: it
// records every <root>/data message in arrival order.
type Collector struct {
	c     mqtt3.Client
	mu    sync.Mutex
	msgs  []uplink.Message
	bad   int
	bytes int
}

// Collect subscribes topic at QoS 1 on addr with a persistent session.
func Collect(t testing.TB, addr, topic string) *Collector {
	t.Helper()
	col := &Collector{}
	subscribed := make(chan struct{}, 1)
	o := mqtt3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(fmt.Sprintf("collector-%d", time.Now().UnixNano())).
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(500 * time.Millisecond).
		SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).SetOrderMatters(true)
	o.SetOnConnectHandler(func(c mqtt3.Client) {
		tok := c.Subscribe(topic, 1, func(_ mqtt3.Client, m mqtt3.Message) {
			msg, err := uplink.Decode(m.Payload())
			col.mu.Lock()
			defer col.mu.Unlock()
			col.bytes += len(m.Payload())
			if err != nil {
				col.bad++
				return
			}
			col.msgs = append(col.msgs, msg)
		})
		go func() { // the handler must not block the client
			if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
				select {
				case subscribed <- struct{}{}:
				default:
				}
			}
		}()
	})
	col.c = mqtt3.NewClient(o)
	tok := col.c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("collector connect %s: %v", addr, tok.Error())
	}
	t.Cleanup(func() { col.c.Disconnect(100) })
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatalf("collector: no SUBACK for %s", topic)
	}
	return col
}

// Messages returns a copy of what arrived, in arrival order.
func (c *Collector) Messages() []uplink.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uplink.Message(nil), c.msgs...)
}

// Summary is what a run of messages shows.
type Summary struct {
	First, Last uint64
	Missing     []uint64 // seqs between First and Last never received
	Dups        int      // messages received more than once (same seq)
	Values      int      // values in distinct messages
	PerDP       map[string][]int64
	Bad         int
}

// Summarize checks seqs and collects each datapoint's timestamps in seq order.
func (c *Collector) Summarize() Summary {
	msgs := c.Messages()
	s := Summary{PerDP: map[string][]int64{}}
	seen := map[uint64]bool{}
	byseq := map[uint64]uplink.Message{}
	for _, m := range msgs {
		if seen[m.Seq] {
			s.Dups++
			continue
		}
		seen[m.Seq] = true
		byseq[m.Seq] = m
		if s.First == 0 || m.Seq < s.First {
			s.First = m.Seq
		}
		s.Last = max(s.Last, m.Seq)
	}
	for q := s.First; s.First > 0 && q <= s.Last; q++ {
		m, ok := byseq[q]
		if !ok {
			s.Missing = append(s.Missing, q)
			continue
		}
		s.Values += len(m.Values)
		for _, v := range m.Values {
			s.PerDP[v.DP] = append(s.PerDP[v.DP], v.TS)
		}
	}
	c.mu.Lock()
	s.Bad = c.bad
	c.mu.Unlock()
	return s
}

// Bytes is the total size of the payloads received, as sent.
func (c *Collector) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
