package postgres

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the store's Prometheus instruments, with the SQLite store's
// names (a dashboard works with either store). They exist even without a
// registerer so the code never checks for nil.
type metrics struct {
	batchSize prometheus.Histogram
	flushDur  prometheus.Histogram
	written   prometheus.Counter
	errs      prometheus.Counter
	drops     prometheus.Counter
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
