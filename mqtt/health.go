package mqtt

import (
	"net/url"
	"sync/atomic"
)

// Connected reports whether the publisher's connection to the broker is up.
func (p *Publisher) Connected() bool { return p.linkUp.Load() }

// BrokerHealth is the broker's state for the web UI's overview (the api
// sink reaches it through sink.Env.MQTT): for the embedded broker its
// clients and message counters, for an external one its address (without
// credentials); both with whether the gateway's own connection is up.
func (in *instance) BrokerHealth() map[string]any {
	h := map[string]any{"connected": in.pub.Connected()}
	if in.broker == nil {
		h["broker"] = "external"
		if u, err := url.Parse(in.addr); err == nil {
			u.User = nil
			h["address"] = u.String()
		}
		return h
	}
	info := in.broker.Server().Info
	h["broker"] = "embedded"
	h["address"] = in.addr
	h["clients"] = atomic.LoadInt64(&info.ClientsConnected)
	h["messages_received"] = atomic.LoadInt64(&info.MessagesReceived)
	h["messages_sent"] = atomic.LoadInt64(&info.MessagesSent)
	h["dropped"] = in.broker.Dropped()
	return h
}
