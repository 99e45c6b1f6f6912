package broker

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// collector exports the embedded broker's counters, above all every message
// it drops, to Prometheus.
type collector struct {
	b                                      *Broker
	clients, received, sent, dropped, refd *prometheus.Desc
	retained, subs, pubRefd, subRefd       *prometheus.Desc
}

// Collector returns a Prometheus collector of the broker's counters.
func (b *Broker) Collector() prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &collector{
		b:        b,
		clients:  d("gridbox_broker_clients_connected", "MQTT clients connected to the embedded broker."),
		received: d("gridbox_broker_messages_received_total", "PUBLISH packets the embedded broker received (TCP clients and the gateway)."),
		sent:     d("gridbox_broker_messages_sent_total", "PUBLISH packets the embedded broker sent to TCP clients."),
		dropped: d("gridbox_broker_messages_dropped_total",
			"Messages the embedded broker did not deliver to a client, by reason: queue_full (the client's queue, max_queued, was full), inflight_full (too many unacknowledged QoS 1/2 messages).", "reason"),
		refd: d("gridbox_broker_refused_total",
			"Connections the embedded broker refused or closed, by reason: packet_too_large, max_clients, bad_credentials (unknown user, wrong password, anonymous not allowed), bad_client_id (client id or user name with + # /), connect_rate.", "reason"),
		pubRefd: d("gridbox_broker_publishes_refused_total",
			"PUBLISH packets from clients the embedded broker did not deliver, by reason: not_authorized (access level, topic patterns, retained by a non-admin user), rate_limited (over mqtt.rate_limits.messages_per_second).", "reason"),
		subRefd:  d("gridbox_broker_subscriptions_refused_total", "Subscriptions the embedded broker refused (topic patterns, $SYS for non-admin users)."),
		retained: d("gridbox_broker_retained_messages", "Retained messages held by the embedded broker."),
		subs:     d("gridbox_broker_subscriptions", "Subscriptions held by the embedded broker."),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.clients, c.received, c.sent, c.dropped, c.refd, c.retained, c.subs, c.pubRefd, c.subRefd} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	info := c.b.srv.Info
	metric := func(d *prometheus.Desc, t prometheus.ValueType, v int64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, t, float64(v), l...)
	}
	metric(c.clients, prometheus.GaugeValue, atomic.LoadInt64(&info.ClientsConnected))
	metric(c.received, prometheus.CounterValue, atomic.LoadInt64(&info.MessagesReceived))
	metric(c.sent, prometheus.CounterValue, atomic.LoadInt64(&info.MessagesSent))
	metric(c.dropped, prometheus.CounterValue, atomic.LoadInt64(&info.MessagesDropped), "queue_full")
	metric(c.dropped, prometheus.CounterValue, atomic.LoadInt64(&info.InflightDropped), "inflight_full")
	metric(c.refd, prometheus.CounterValue, c.b.guard.tooLarge.Load(), "packet_too_large")
	metric(c.refd, prometheus.CounterValue, c.b.guard.busy.Load(), "max_clients")
	metric(c.refd, prometheus.CounterValue, c.b.auth.badCredentials.Load(), "bad_credentials")
	metric(c.refd, prometheus.CounterValue, c.b.auth.badClientID.Load(), "bad_client_id")
	metric(c.refd, prometheus.CounterValue, c.b.guard.connRate.Load(), "connect_rate")
	metric(c.pubRefd, prometheus.CounterValue, c.b.auth.pubRefused.Load(), "not_authorized")
	metric(c.pubRefd, prometheus.CounterValue, c.b.auth.rateLimited.Load(), "rate_limited")
	metric(c.subRefd, prometheus.CounterValue, c.b.auth.subRefused.Load())
	metric(c.retained, prometheus.GaugeValue, atomic.LoadInt64(&info.Retained))
	metric(c.subs, prometheus.GaugeValue, atomic.LoadInt64(&info.Subscriptions))
}

// Dropped is the number of messages the broker did not deliver to a client
// (queue or inflight window full).
func (b *Broker) Dropped() int64 {
	return atomic.LoadInt64(&b.srv.Info.MessagesDropped) + atomic.LoadInt64(&b.srv.Info.InflightDropped)
}

// PublishesRefused is the number of client publishes refused by access
// level or topic patterns (a read user's /set, for one).
func (b *Broker) PublishesRefused() int64 { return b.auth.pubRefused.Load() }
