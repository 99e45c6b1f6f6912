package broker

import (
	"slices"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Policy is a set of access rules a sink adds to the embedded broker (a
// dialect refuses foreign publishes on its own topics). Without policies
// every client may connect, publish and subscribe.
type Policy interface {
	// Connect returns a reason to refuse a client, nil to accept it.
	Connect(clientID, username string) error
	// Allow reports whether a client may publish to (write) or subscribe
	// to and receive (!write) topic, a topic name or a subscription filter.
	Allow(clientID, username, topic string, write bool) bool
}

// access is the broker's authentication hook: it accepts every client and
// topic unless a Policy refuses. In-process (inline) clients are not checked.
type access struct {
	mqtt.HookBase
	srv      *mqtt.Server
	mu       sync.RWMutex
	policies []Policy
}

func (a *access) ID() string { return "gridbox-access" }

func (a *access) Provides(b byte) bool { return b == mqtt.OnConnect }

func (a *access) list() []Policy {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.policies
}

// OnConnect refuses a client a policy refuses, with CONNACK "client
// identifier not valid".
func (a *access) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	for _, p := range a.list() {
		if err := p.Connect(cl.ID, string(cl.Properties.Username)); err != nil {
			_ = a.srv.SendConnack(cl, packets.ErrClientIdentifierNotValid, false, nil)
			return packets.ErrClientIdentifierNotValid
		}
	}
	return nil
}

// permits reports whether every rule allows a client's publish (write) or
// subscription on topic; the authentication hook asks it (see Start).
func (a *access) permits(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	for _, p := range a.list() {
		if !p.Allow(cl.ID, string(cl.Properties.Username), topic, write) {
			return false
		}
	}
	return true
}

// AddPolicy adds access rules for clients connecting over TCP; the returned
// function removes them.
func (b *Broker) AddPolicy(p Policy) (remove func()) {
	b.access.mu.Lock()
	b.access.policies = append(slices.Clone(b.access.policies), p)
	b.access.mu.Unlock()
	return func() {
		b.access.mu.Lock()
		defer b.access.mu.Unlock()
		out := make([]Policy, 0, len(b.access.policies))
		for _, q := range b.access.policies {
			if q != p {
				out = append(out, q)
			}
		}
		b.access.policies = out
	}
}
