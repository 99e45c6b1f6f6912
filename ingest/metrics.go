package ingest

import (
	"sync"
	"time"

	"github.com/gridbox/gridbox/sink"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	messages  prometheus.Counter
	rows      prometheus.Counter
	dups      prometheus.Counter
	bad       prometheus.Counter
	badValues prometheus.Counter
	lag       prometheus.Gauge
	rate      prometheus.Gauge
	mu        sync.Mutex
	rateStart time.Time
	rateRows  int64
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "gridbox_ingest_" + name, Help: help})
	}
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "gridbox_ingest_" + name, Help: help})
	}
	m := &metrics{
		messages:  c("messages_total", "Messages committed and acknowledged."),
		rows:      c("rows_total", "Rows inserted (new values)."),
		dups:      c("duplicate_rows_total", "Values received again (resends, redeliveries) and not inserted twice."),
		bad:       c("bad_messages_total", "Messages that could not be decoded (acknowledged and skipped)."),
		badValues: c("bad_values_total", "Values that are neither number, text nor bool (skipped)."),
		lag:       g("lag_seconds", "Now minus the sent time of the last message received."),
		rate:      g("rows_per_second", "Rows inserted per second, over the last interval of at least 5 s."),
		rateStart: time.Now(),
	}
	var err error
	for _, p := range []*prometheus.Counter{&m.messages, &m.rows, &m.dups, &m.bad, &m.badValues} {
		*p = sink.Register(reg, *p, &err)
	}
	m.lag = sink.Register(reg, m.lag, &err)
	m.rate = sink.Register(reg, m.rate, &err)
	return m, err
}

func (m *metrics) committed(msgs, rows int, inserted int64) {
	m.messages.Add(float64(msgs))
	m.rows.Add(float64(inserted))
	m.dups.Add(float64(int64(rows) - inserted))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rateRows += inserted
	if d := time.Since(m.rateStart); d >= 5*time.Second {
		m.rate.Set(float64(m.rateRows) / d.Seconds())
		m.rateStart, m.rateRows = time.Now(), 0
	}
}
