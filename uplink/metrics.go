package uplink

import (
	"github.com/gridbox/gridbox/sink"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one uplink's metrics (labelled sink=<name> by the gateway).
type metrics struct {
	connected   prometheus.Gauge
	reconnects  prometheus.Counter
	queueBytes  prometheus.Gauge
	queueValues prometheus.Gauge
	queueLimit  prometheus.Gauge
	ackedSeq    prometheus.Gauge
	sentMsgs    prometheus.Counter
	ackedValues prometheus.Counter
	queued      prometheus.Counter
	dropped     *prometheus.CounterVec
	degraded    prometheus.Gauge
	commands    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "gridbox_uplink_" + name, Help: help})
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "gridbox_uplink_" + name, Help: help})
	}
	m := &metrics{
		connected:   g("connected", "1 while the uplink is connected to its remote broker."),
		reconnects:  c("reconnects_total", "Connections to the remote broker after the first one."),
		queueBytes:  g("queue_bytes", "Size of the disk queue in bytes."),
		queueValues: g("queue_values", "Values in the disk queue not yet acknowledged by the remote."),
		queueLimit:  g("queue_limit_bytes", "The bound of the disk queue (max_queue)."),
		ackedSeq:    g("acked_seq", "The last seq the remote acknowledged (PUBACK)."),
		sentMsgs:    c("sent_messages_total", "Messages handed to the remote broker, including resends."),
		ackedValues: c("acked_values_total", "Values acknowledged by the remote and deleted from the queue."),
		queued:      c("queued_values_total", "Values written to the disk queue."),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_uplink_dropped_values_total",
			Help: "Values not sent, by reason: overflow (drop-oldest), degraded (raw value replaced by rollups), encode (not representable in JSON, or a u/data payload over 1 MiB), format (queued in another format than the configured one).",
		}, []string{"reason"}),
		degraded: g("degraded", "1 while the queue is near its bound and the degrade policy sends rollups only."),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_uplink_commands_total", Help: "Down-link commands received, by command and result (ok, refused, failed; config unsupported: a part of a datalogger-format config not translated).",
		}, []string{"command", "result"}),
	}
	for _, r := range []string{"overflow", "degraded", "encode"} {
		m.dropped.WithLabelValues(r)
	}
	var err error
	m.connected = sink.Register(reg, m.connected, &err)
	m.reconnects = sink.Register(reg, m.reconnects, &err)
	m.queueBytes = sink.Register(reg, m.queueBytes, &err)
	m.queueValues = sink.Register(reg, m.queueValues, &err)
	m.queueLimit = sink.Register(reg, m.queueLimit, &err)
	m.ackedSeq = sink.Register(reg, m.ackedSeq, &err)
	m.sentMsgs = sink.Register(reg, m.sentMsgs, &err)
	m.ackedValues = sink.Register(reg, m.ackedValues, &err)
	m.queued = sink.Register(reg, m.queued, &err)
	m.degraded = sink.Register(reg, m.degraded, &err)
	m.dropped = sink.Register(reg, m.dropped, &err)
	m.commands = sink.Register(reg, m.commands, &err)
	return m, err
}
