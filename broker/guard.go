package broker

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// guard is the broker hook that enforces the client cap, advertises the
// packet limit to MQTT 5 clients and counts (and logs once) what the broker
// refuses or drops, so no refusal is silent.
type guard struct {
	mqtt.HookBase
	log           *slog.Logger
	srv           *mqtt.Server // set before Serve; used to answer refused CONNECTs
	maxClients    int64
	maxPacketSize uint32

	connLimit *limiter // per remote host

	tooLarge   atomic.Int64 // connections closed for an oversized packet
	connRate   atomic.Int64 // connections refused over the per-host connection rate
	busy       atomic.Int64 // connections refused at the client cap
	dropLogged sync.Map     // client id → struct{}: its first drop was logged
}

func newGuard(log *slog.Logger, maxClients int64, maxPacketSize uint32) *guard {
	return &guard{log: log, maxClients: maxClients, maxPacketSize: maxPacketSize}
}

func (g *guard) ID() string { return "gridbox-guard" }

// Provides is asked for every hook call mochi makes (several per message),
// so it is a switch, not a search.
func (g *guard) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnect, mqtt.OnDisconnect, mqtt.OnPacketEncode, mqtt.OnPublishDropped:
		return true
	}
	return false
}

// OnConnect refuses a client beyond the cap with CONNACK "server
// unavailable" (3.1.1) or "server busy" (5), and counts it.
func (g *guard) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	host, _, err := net.SplitHostPort(cl.Net.Remote)
	if err != nil {
		host = cl.Net.Remote
	}
	if !g.connLimit.allow(host) {
		n := g.connRate.Add(1)
		code := packets.ErrConnectionRateExceeded
		if cl.Properties.ProtocolVersion < 5 {
			code = packets.ErrServerUnavailable
		}
		_ = g.srv.SendConnack(cl, code, false, nil)
		g.log.Warn("MQTT client refused: connection rate exceeded", "client", short(cl.ID), "remote", cl.Net.Remote,
			"refused_total", n)
		return packets.ErrConnectionRateExceeded
	}
	if atomic.LoadInt64(&g.srv.Info.ClientsConnected) < g.maxClients {
		return nil
	}
	n := g.busy.Add(1)
	code := packets.ErrServerBusy
	if cl.Properties.ProtocolVersion < 5 {
		code = packets.ErrServerUnavailable
	}
	_ = g.srv.SendConnack(cl, code, false, nil)
	g.log.Warn("MQTT client refused: too many clients", "client", short(cl.ID), "remote", cl.Net.Remote,
		"max_clients", g.maxClients, "refused_total", n)
	return packets.ErrServerBusy
}

// OnPacketEncode tells MQTT 5 clients the largest packet the broker takes
// (CONNACK Maximum Packet Size), so a well-behaved client never sends one.
func (g *guard) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type == packets.Connack && cl.Properties.ProtocolVersion == 5 && pk.ReasonCode == 0 {
		pk.Properties.MaximumPacketSize = g.maxPacketSize
	}
	return pk
}

// OnDisconnect counts and logs clients closed for an oversized packet; the
// log names the client, never the payload.
func (g *guard) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	g.dropLogged.Delete(cl.ID)
	if errors.Is(err, packets.ErrPacketTooLarge) {
		n := g.tooLarge.Add(1)
		g.log.Warn("MQTT client disconnected: packet too large", "client", short(cl.ID), "remote", cl.Net.Remote,
			"max_packet_size", g.maxPacketSize, "refused_total", n)
	}
}

// OnPublishDropped logs the first message dropped to a client (its queue is
// full); the broker's counters count every one.
func (g *guard) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) {
	if _, seen := g.dropLogged.LoadOrStore(cl.ID, struct{}{}); seen {
		return
	}
	g.log.Warn("MQTT messages dropped to a slow client (logged once per connection; see gridbox_broker_messages_dropped_total)",
		"client", short(cl.ID), "remote", cl.Net.Remote, "topic", short(pk.TopicName))
}

// short cuts a client-supplied string for a log line.
func short(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
