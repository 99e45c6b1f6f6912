package store

import (
	"github.com/gridbox/gridbox/sink"
	"github.com/gridbox/gridbox/store/samples"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the store's Prometheus instruments: the ingest metrics both
// stores share (samples.Metrics) and the SQLite store's size gauges. They
// exist even without a registerer so the code never checks for nil.
type metrics struct {
	*samples.Metrics
	rows     *prometheus.GaugeVec // label resolution
	oldest   *prometheus.GaugeVec // label resolution
	fileSize prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	ing, err := samples.NewMetrics(reg)
	m := &metrics{
		Metrics: ing,
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
		return m, err
	}
	m.rows = sink.Register(reg, m.rows, &err)
	m.oldest = sink.Register(reg, m.oldest, &err)
	m.fileSize = sink.Register(reg, m.fileSize, &err)
	return m, err
}
