package main

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// subscriber counts the values the gateway delivered over the external
// broker: every live (not retained) message on <prefix>/<device>/<name>,
// keeping each datapoint's timestamps so that the values can be matched
// one by one against the store's. Its session is persistent (clean
// session off, QoS 1), so the broker queues for it while it reconnects
// after a bounce.
type subscriber struct {
	cli      paho.Client
	prefix   string
	mu       sync.Mutex
	ts       map[string][]int64 // "device/name" → timestamps in arrival order
	msgs     atomic.Uint64      // live value messages
	retained atomic.Uint64      // retained value messages (not counted: republished state)
	bad      atomic.Uint64      // payloads without a timestamp
}

func newSubscriber(addr, prefix string) (*subscriber, error) {
	s := &subscriber{prefix: prefix, ts: map[string][]int64{}}
	filter := prefix + "/+/+"
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID("gridbox-soak-counter").SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).
		SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).
		SetKeepAlive(10 * time.Second)
	o.SetOnConnectHandler(func(c paho.Client) {
		c.Subscribe(filter, 1, s.onMessage) // the session keeps it; subscribing again is harmless
	})
	s.cli = paho.NewClient(o)
	tok := s.cli.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("subscriber connect to %s: %v", addr, tok.Error())
	}
	sub := s.cli.Subscribe(filter, 1, s.onMessage)
	if !sub.WaitTimeout(10*time.Second) || sub.Error() != nil {
		return nil, fmt.Errorf("subscribe %s: %v", filter, sub.Error())
	}
	return s, nil
}

func (s *subscriber) onMessage(_ paho.Client, m paho.Message) {
	key, ok := strings.CutPrefix(m.Topic(), s.prefix+"/")
	if !ok || strings.Contains(key, "$") || len(m.Payload()) == 0 {
		return // device and gateway states, cleared topics
	}
	if m.Retained() {
		s.retained.Add(1)
		return
	}
	ts, ok := payloadTime(m.Payload())
	if !ok {
		s.bad.Add(1)
		return
	}
	s.msgs.Add(1)
	s.mu.Lock()
	s.ts[key] = append(s.ts[key], ts)
	s.mu.Unlock()
}

// payloadTime reads "timestamp" of {"value":…,"timestamp":ms,"quality":…}.
func payloadTime(p []byte) (int64, bool) {
	const k = `"timestamp":`
	i := bytes.Index(p, []byte(k))
	if i < 0 {
		return 0, false
	}
	rest := p[i+len(k):]
	j := bytes.IndexAny(rest, ",}")
	if j < 0 {
		return 0, false
	}
	ts, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return ts, err == nil
}

// waitQuiet waits until no message arrived for quiet (or max passed).
func (s *subscriber) waitQuiet(quiet, maxWait time.Duration) {
	end := time.Now().Add(maxWait)
	last := s.msgs.Load()
	for time.Now().Before(end) {
		time.Sleep(quiet)
		n := s.msgs.Load()
		if n == last {
			return
		}
		last = n
	}
}

// timestamps returns every datapoint's received timestamps, sorted, and
// how many messages repeated a timestamp already received (duplicates).
func (s *subscriber) timestamps() (map[string][]int64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dups := 0
	for k, ts := range s.ts {
		slices.Sort(ts)
		u := slices.Compact(ts)
		dups += len(ts) - len(u)
		s.ts[k] = u
	}
	return s.ts, dups
}

func (s *subscriber) close() { s.cli.Disconnect(250) }
