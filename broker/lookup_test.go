package broker

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// The broker's subscriber lookup is patched (third_party/mochi-mqtt
// PATCHES.md 4: recycled lookup results, a client's first match taken as
// is, no copies of the index's maps). These tests pin what a subscriber
// gets through that path: MQTT 5 clients over TCP, publishes to topics with
// different subscriber sets one after the other (so a recycled result that
// kept a subscriber would deliver to the wrong client), checked by what
// arrives before a sentinel message on the same connection.

type sub5 struct {
	c   *paho.Client
	got chan *paho.Publish
}

func dial5(t *testing.T, addr, id string) *sub5 {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &sub5{got: make(chan *paho.Publish, 256)}
	s.c = paho.NewClient(paho.ClientConfig{ClientID: id, Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			s.got <- r.Packet
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
	t.Cleanup(func() { _ = s.c.Disconnect(&paho.Disconnect{}) })
	return s
}

func (s *sub5) subscribe(t *testing.T, id int, opts ...paho.SubscribeOptions) {
	t.Helper()
	p := &paho.Subscribe{Subscriptions: opts}
	if id > 0 {
		p.Properties = &paho.SubscribeProperties{SubscriptionIdentifier: &id}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.c.Subscribe(ctx, p); err != nil {
		t.Fatalf("subscribe %v: %v", opts, err)
	}
}

func (s *sub5) publish(t *testing.T, topic, payload string, qos byte, retain bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.c.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: qos, Retain: retain}); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// until collects what arrives up to and including the message with payload
// "end" on topic end (subscribed by the caller).
func (s *sub5) until(t *testing.T, end string) []*paho.Publish {
	t.Helper()
	var out []*paho.Publish
	for {
		select {
		case p := <-s.got:
			if p.Topic == end && string(p.Payload) == "end" {
				return out
			}
			out = append(out, p)
		case <-time.After(10 * time.Second):
			t.Fatalf("no sentinel on %s; got %d messages", end, len(out))
		}
	}
}

func topics(ps []*paho.Publish) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s=%s/q%d", p.Topic, p.Payload, p.QoS))
	}
	return out
}

func TestSubscriberLookupMergesOverlapsAndKeepsSetsApart(t *testing.T) {
	b := startBroker(t, Options{Listen: "127.0.0.1:0"})
	a := dial5(t, b.Addr(), "a") // two overlapping wildcards with identifiers
	a.subscribe(t, 5, paho.SubscribeOptions{Topic: "s/+/x", QoS: 0})
	a.subscribe(t, 7, paho.SubscribeOptions{Topic: "s/#", QoS: 1})
	a.subscribe(t, 0, paho.SubscribeOptions{Topic: "end", QoS: 1})
	g := dial5(t, b.Addr(), "g") // a plain subscription without identifier
	g.subscribe(t, 0, paho.SubscribeOptions{Topic: "p/q", QoS: 1}, paho.SubscribeOptions{Topic: "end", QoS: 1})
	pub := dial5(t, b.Addr(), "pub")
	for _, tp := range []string{"s/a/x", "p/q", "s/a/x", "p/q", "s/b"} {
		pub.publish(t, tp, tp, 1, false)
	}
	pub.publish(t, "end", "end", 1, false)

	gotA := a.until(t, "end")
	if want := []string{"s/a/x=s/a/x/q1", "s/a/x=s/a/x/q1", "s/b=s/b/q1"}; fmt.Sprint(topics(gotA)) != fmt.Sprint(want) {
		t.Errorf("a got %v, want %v (one message per publish at the higher QoS, never p/q)", topics(gotA), want)
	}
	for _, p := range gotA {
		if p.Properties == nil || p.Properties.SubscriptionIdentifier == nil {
			t.Errorf("a: %s without subscription identifier", p.Topic)
		}
	}
	gotG := g.until(t, "end")
	if want := []string{"p/q=p/q/q1", "p/q=p/q/q1"}; fmt.Sprint(topics(gotG)) != fmt.Sprint(want) {
		t.Errorf("g got %v, want %v", topics(gotG), want)
	}
	for _, p := range gotG {
		if p.Properties != nil && p.Properties.SubscriptionIdentifier != nil {
			t.Errorf("g: %s carries subscription identifier %d, none was given", p.Topic, *p.Properties.SubscriptionIdentifier)
		}
	}
}

func TestSubscriberLookupNoLocalRetainAsPublishedAndDollarTopics(t *testing.T) {
	b := startBroker(t, Options{Listen: "127.0.0.1:0"})
	nl := dial5(t, b.Addr(), "nl")
	nl.subscribe(t, 0, paho.SubscribeOptions{Topic: "n/t", QoS: 1, NoLocal: true}, paho.SubscribeOptions{Topic: "end", QoS: 1})
	rap := dial5(t, b.Addr(), "rap")
	rap.subscribe(t, 0, paho.SubscribeOptions{Topic: "r/t", QoS: 1, RetainAsPublished: true}, paho.SubscribeOptions{Topic: "end", QoS: 1})
	plain := dial5(t, b.Addr(), "plain")
	plain.subscribe(t, 0, paho.SubscribeOptions{Topic: "r/t", QoS: 1}, paho.SubscribeOptions{Topic: "#", QoS: 1})
	dollar := dial5(t, b.Addr(), "dollar")
	dollar.subscribe(t, 0, paho.SubscribeOptions{Topic: "$x/#", QoS: 1}, paho.SubscribeOptions{Topic: "end", QoS: 1})

	nl.publish(t, "n/t", "own", 1, false) // no-local: not back to nl
	other := dial5(t, b.Addr(), "other")
	other.publish(t, "n/t", "foreign", 1, false)
	other.publish(t, "r/t", "kept", 1, true)
	other.publish(t, "$x/y", "sys", 1, false) // "#" must not match a $ topic
	other.publish(t, "end", "end", 1, false)

	if got := topics(nl.until(t, "end")); fmt.Sprint(got) != "[n/t=foreign/q1]" {
		t.Errorf("no-local subscriber got %v, want only the foreign n/t", got)
	}
	gotR := rap.until(t, "end")
	if len(gotR) != 1 || !gotR[0].Retain {
		t.Errorf("retain-as-published subscriber got %v, want r/t with the retain flag", topics(gotR))
	}
	gotP := plain.until(t, "end")
	if fmt.Sprint(topics(gotP)) != "[n/t=own/q1 n/t=foreign/q1 r/t=kept/q1]" {
		t.Errorf("plain subscriber (r/t and #) got %v, want n/t twice and r/t once, no $x/y", topics(gotP))
	}
	for _, p := range gotP {
		if p.Retain {
			t.Errorf("plain subscriber got %s with the retain flag on a live message", p.Topic)
		}
	}
	if got := topics(dollar.until(t, "end")); fmt.Sprint(got) != "[$x/y=sys/q1]" {
		t.Errorf("$x/# subscriber got %v", got)
	}
}

func TestSubscriberLookupSharedSubscriptions(t *testing.T) {
	b := startBroker(t, Options{Listen: "127.0.0.1:0"})
	var members []*sub5
	for i := range 2 {
		m := dial5(t, b.Addr(), fmt.Sprint("member", i))
		m.subscribe(t, 0, paho.SubscribeOptions{Topic: "$share/g/sh/t", QoS: 1}, paho.SubscribeOptions{Topic: "end", QoS: 1})
		members = append(members, m)
	}
	all := dial5(t, b.Addr(), "all")
	all.subscribe(t, 0, paho.SubscribeOptions{Topic: "sh/#", QoS: 1}, paho.SubscribeOptions{Topic: "end", QoS: 1})
	pub := dial5(t, b.Addr(), "pub")
	const n = 20
	for i := range n {
		pub.publish(t, "sh/t", fmt.Sprint(i), 1, false)
		pub.publish(t, "sh/other", fmt.Sprint(i), 1, false) // only "all"
	}
	pub.publish(t, "end", "end", 1, false)
	seen := map[string]int{}
	for _, m := range members {
		for _, p := range m.until(t, "end") {
			if p.Topic != "sh/t" {
				t.Errorf("group member got %s", p.Topic)
			}
			seen[string(p.Payload)]++
		}
	}
	for i := range n {
		if seen[fmt.Sprint(i)] != 1 {
			t.Errorf("message %d reached the group %d times, want once", i, seen[fmt.Sprint(i)])
		}
	}
	if got := len(all.until(t, "end")); got != 2*n {
		t.Errorf("non-shared subscriber got %d messages, want %d", got, 2*n)
	}
}
