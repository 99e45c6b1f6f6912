package store

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the store's Prometheus instruments. They exist even without a
// registerer so the code never checks for nil.
type metrics struct {
	batchSize prometheus.Histogram
	flushDur  prometheus.Histogram
	written   prometheus.Counter
	errs      prometheus.Counter
	drops     prometheus.Counter
	rows      *prometheus.GaugeVec // label resolution
	oldest    *prometheus.GaugeVec // label resolution
	fileSize  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gridbox_store_batch_size",
			Help:    "Values per write transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 … 16384
		}),
		flushDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gridbox_store_flush_duration_seconds",
			Help:    "Time to write one batch, including commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5ms … 4s
		}),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_store_values_written_total",
			Help: "Values committed to the store.",
		}),
		errs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_store_write_errors_total",
			Help: "Failed write transactions (each failed attempt counts once).",
		}),
		drops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_store_values_dropped_total",
			Help: "Values given up: a batch that failed its retry, or a value of unsupported type.",
		}),
		rows: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gridbox_store_rows",
			Help: "Rows kept per resolution (raw values, rollup buckets).",
		}, []string{"resolution"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gridbox_store_oldest_timestamp_seconds",
			Help: "Time of the oldest raw value or rollup bucket start per resolution (Unix seconds).",
		}, []string{"resolution"}),
		fileSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gridbox_store_file_size_bytes",
			Help: "Size of the database file (without its WAL).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.batchSize = register(reg, m.batchSize, &err)
	m.flushDur = register(reg, m.flushDur, &err)
	m.written = register(reg, m.written, &err)
	m.errs = register(reg, m.errs, &err)
	m.drops = register(reg, m.drops, &err)
	m.rows = register(reg, m.rows, &err)
	m.oldest = register(reg, m.oldest, &err)
	m.fileSize = register(reg, m.fileSize, &err)
	return m, err
}

// register registers c, or reuses the collector already registered under
// the same name (a store reopened on the same registry); errors accumulate.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old
		}
	}
	*errp = errors.Join(*errp, err)
	return c
}

// observe records one write attempt.
func (m *metrics) observe(n int, d time.Duration, err error) {
	if err != nil {
		m.errs.Inc()
		return
	}
	m.batchSize.Observe(float64(n))
	m.flushDur.Observe(d.Seconds())
	m.written.Add(float64(n))
}

// dropped counts values that will never be stored.
func (m *metrics) dropped(n int) {
	if n > 0 {
		m.drops.Add(float64(n))
	}
}
