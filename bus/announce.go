package bus

import "maps"

// SetGatewayStatus sets one field of the gateway's own state — a sink's
// condition the operator should see, like the uplink's queue — which the
// MQTT sinks publish in <prefix>/$state; nil removes it. Subscribers with
// Events learn of the change.
func (b *Bus) SetGatewayStatus(key string, v any) {
	b.mu.Lock()
	if v == nil {
		delete(b.status, key)
	} else {
		if b.status == nil {
			b.status = map[string]any{}
		}
		b.status[key] = v
	}
	subs := b.subs
	b.mu.Unlock()
	tell(subs, []Event{{Type: GatewayStatus, Key: key, Status: v}})
}

// GatewayStatus returns a copy of the gateway's status fields.
func (b *Bus) GatewayStatus() map[string]any {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return maps.Clone(b.status)
}

// Announce asks the MQTT sinks to publish payload on <prefix>/<topic>, a
// gateway-level topic such as $aggregated/<device>/<name>. It is delivered
// like a catalog event: a sink whose event queue is full drops it (counted).
func (b *Bus) Announce(topic string, payload []byte, retain bool) {
	b.mu.RLock()
	subs := b.subs
	b.mu.RUnlock()
	tell(subs, []Event{{Type: Announcement, Topic: topic, Payload: payload, Retain: retain}})
}
