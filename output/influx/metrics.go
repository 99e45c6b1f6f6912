package influx

import (
	"github.com/gridbox/gridbox/sink"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of one output instance; the gateway's registerer adds
// sink="<name>", so instances count apart. An instance reopened on the same
// registry reuses the collectors registered before (sink.Register).
type metrics struct {
	written     prometheus.Counter
	dropped     *prometheus.CounterVec
	retried     prometheus.Counter
	bufferBytes prometheus.Gauge
	buffered    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_output_values_written_total",
			Help: "Values the output's server acknowledged (HTTP 204).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_output_values_dropped_total",
			Help: "Values never written, by reason: null, invalid, rejected, buffer_full, disk.",
		}, []string{"reason"}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_output_batches_retried_total",
			Help: "Write attempts that failed and will be retried (each failed attempt counts once).",
		}),
		bufferBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gridbox_output_buffer_bytes",
			Help: "Bytes of batches waiting in the output's disk buffer.",
		}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gridbox_output_buffer_values",
			Help: "Values in batches waiting in the output's disk buffer.",
		}),
	}
	for _, r := range []string{dropNull, dropInvalid, dropRejected, dropBufferFull, dropDisk} {
		m.dropped.WithLabelValues(r) // every reason is exported from the start, at 0
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.written = sink.Register(reg, m.written, &err)
	m.dropped = sink.Register(reg, m.dropped, &err)
	m.retried = sink.Register(reg, m.retried, &err)
	m.bufferBytes = sink.Register(reg, m.bufferBytes, &err)
	m.buffered = sink.Register(reg, m.buffered, &err)
	return m, err
}

// drop counts n values never written, for reason.
func (m *metrics) drop(reason string, n int) {
	if n > 0 {
		m.dropped.WithLabelValues(reason).Add(float64(n))
	}
}
