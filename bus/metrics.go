package bus

import "github.com/prometheus/client_golang/prometheus"

// Collector exports the bus's counters to Prometheus.
type Collector struct {
	b                               *Bus
	in, out, dropped, online, polls *prometheus.Desc
	errs, writes, unknown, audit    *prometheus.Desc
}

// NewCollector returns a Prometheus collector for b.
func NewCollector(b *Bus) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Collector{
		b:       b,
		in:      d("gridbox_bus_values_in_total", "Values published onto the bus by drivers."),
		out:     d("gridbox_sink_values_out_total", "Values queued to a sink.", "sink"),
		dropped: d("gridbox_sink_values_dropped_total", "Values (and states) dropped because a sink's queue was full.", "sink"),
		online:  d("gridbox_device_online", "1 when the device answered its last poll.", "device"),
		polls:   d("gridbox_device_polls_total", "Polls (or received messages) per device.", "device"),
		errs:    d("gridbox_device_errors_total", "Failed polls per device.", "device"),
		writes:  d("gridbox_writes_total", "Writes by result: ok, failed (device error), rejected (validation).", "result"),
		unknown: d("gridbox_bus_unknown_total", "Values (what=value) and device states (what=state) dropped because their datapoint or device is not registered.", "what"),
		audit:   d("gridbox_audit_failures_total", "Audit records of writes that could not be stored (the write itself went on)."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.in, c.out, c.dropped, c.online, c.polls, c.errs, c.writes, c.unknown, c.audit} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	counter(c.in, c.b.ValuesIn())
	for name, t := range c.b.sinkTotals() {
		counter(c.out, t[0], name)
		counter(c.dropped, t[1], name)
	}
	for _, st := range c.b.Devices() {
		on := 0.0
		if st.Online {
			on = 1
		}
		ch <- prometheus.MustNewConstMetric(c.online, prometheus.GaugeValue, on, st.Device)
		counter(c.polls, st.Polls, st.Device)
		counter(c.errs, st.Errors, st.Device)
	}
	ok, failed, rejected := c.b.WriteStats()
	counter(c.writes, ok, "ok")
	counter(c.writes, failed, "failed")
	counter(c.writes, rejected, "rejected")
	vals, states := c.b.Unknown()
	counter(c.unknown, vals, "value")
	counter(c.unknown, states, "state")
	counter(c.audit, c.b.AuditFailures())
}
