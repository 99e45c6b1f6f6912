package samples

import (
	"time"

	"github.com/gridbox/gridbox/sink"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are a store's ingest instruments, with the same names in both
// stores. They exist even without a registerer so the code never checks
// for nil.
type Metrics struct {
	BatchSize prometheus.Histogram
	FlushDur  prometheus.Histogram
	Written   prometheus.Counter
	Errs      prometheus.Counter
	Drops     prometheus.Counter
}

// NewMetrics creates the ingest instruments and registers them on reg
// (none when reg is nil), reusing those a store reopened on the same
// registry registered before.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gridbox_store_batch_size",
			Help:    "Values per write transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 … 16384
		}),
		FlushDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gridbox_store_flush_duration_seconds",
			Help:    "Time to write one batch, including commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5ms … 4s
		}),
		Written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_store_values_written_total",
			Help: "Values committed to the store.",
		}),
		Errs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_store_write_errors_total",
			Help: "Failed write transactions (each failed attempt counts once).",
		}),
		Drops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_store_values_dropped_total",
			Help: "Values given up: a batch that failed its retry, or a value of unsupported type.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.BatchSize = sink.Register(reg, m.BatchSize, &err)
	m.FlushDur = sink.Register(reg, m.FlushDur, &err)
	m.Written = sink.Register(reg, m.Written, &err)
	m.Errs = sink.Register(reg, m.Errs, &err)
	m.Drops = sink.Register(reg, m.Drops, &err)
	return m, err
}

// Observe records one write attempt of n values that took d.
func (m *Metrics) Observe(n int, d time.Duration, err error) {
	if err != nil {
		m.Errs.Inc()
		return
	}
	m.BatchSize.Observe(float64(n))
	m.FlushDur.Observe(d.Seconds())
	m.Written.Add(float64(n))
}

// Dropped counts values that will never be stored.
func (m *Metrics) Dropped(n int) {
	if n > 0 {
		m.Drops.Add(float64(n))
	}
}
