package mqtt

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons for gridbox_mqtt_dropped_total.
const (
	dropBufferFull = "buffer_full" // offline buffer full: the oldest value was dropped
	dropEncode     = "encode"      // the value cannot be encoded as JSON (NaN, ±Inf)
)

// Results for gridbox_mqtt_writes_total.
const (
	writeOK       = "ok"       // applied by the device
	writeRejected = "rejected" // bad payload, unknown datapoint, sensor, out of range, rate limited
	writeFailed   = "failed"   // the device (driver) failed or timed out
	writeBusy     = "busy"     // the write queue was full
	writeRetained = "retained" // a retained /set message, ignored
)

// metrics are one Publisher's Prometheus metrics.
type metrics struct {
	connected  prometheus.Gauge
	published  prometheus.Counter
	dropped    *prometheus.CounterVec
	reconnects prometheus.Counter
	resent     prometheus.Counter
	writes     *prometheus.CounterVec
}

// newMetrics creates the metrics and registers them with reg (if not nil).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gridbox_mqtt_connected", Help: "1 while the publisher is connected to its MQTT broker.",
		}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_mqtt_published_total", Help: "Messages handed to the MQTT broker (values, states, metadata, write results).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_mqtt_dropped_total", Help: "Values not published, by reason (buffer_full, encode).",
		}, []string{"reason"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_mqtt_reconnects_total", Help: "Connections to the MQTT broker after the first one.",
		}),
		resent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_mqtt_resent_total", Help: "Values sent again after a reconnect: they were handed over shortly before the connection was lost and may not have reached the broker.",
		}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_mqtt_writes_total", Help: "Writes received on /set topics, by result (ok, rejected, failed, busy, retained).",
		}, []string{"result"}),
	}
	for _, r := range []string{dropBufferFull, dropEncode} {
		m.dropped.WithLabelValues(r)
	}
	for _, r := range []string{writeOK, writeRejected, writeFailed, writeBusy, writeRetained} {
		m.writes.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.connected, m.published, m.dropped, m.reconnects, m.resent, m.writes} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("register mqtt metrics: already registered (one publisher per registry): %w", err)
			}
			return nil, fmt.Errorf("register mqtt metrics: %w", err)
		}
	}
	return m, nil
}
