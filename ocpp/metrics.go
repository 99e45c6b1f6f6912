package ocpp

import (
	"github.com/gridbox/gridbox/sink"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the central system; the gateway's registerer adds sink="ocpp".
type metrics struct {
	connected  prometheus.Gauge
	refused    *prometheus.CounterVec // reason: unknown, auth, subprotocol, path
	messages   prometheus.Counter     // frames received
	callErrors *prometheus.CounterVec // CallErrors sent, by code
	calls      *prometheus.CounterVec // calls sent, by action and result
	timeouts   prometheus.Counter
	badValues  prometheus.Counter
}

// Results of calls gridbox sends.
const (
	resultOK      = "ok"
	resultError   = "error" // a CallError or an invalid answer
	resultTimeout = "timeout"
	resultOffline = "offline"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gridbox_ocpp_charge_points_connected", Help: "Charge points connected now."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_ocpp_refused_total", Help: "WebSocket upgrades refused, by reason: unknown, auth, subprotocol, path."}, []string{"reason"}),
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_ocpp_messages_received_total", Help: "OCPP-J messages received."}),
		callErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_ocpp_call_errors_sent_total", Help: "CallErrors sent to charge points, by code."}, []string{"code"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridbox_ocpp_calls_total", Help: "Calls sent to charge points, by action and result: ok, error, timeout, offline."}, []string{"action", "result"}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_ocpp_call_timeouts_total", Help: "Calls sent to charge points that were not answered within call_timeout."}),
		badValues: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridbox_ocpp_bad_values_total", Help: "Sampled values that could not be read (not a number, SignedData) and were skipped."}),
	}
	for _, r := range []string{"unknown", "auth", "subprotocol", "path"} {
		m.refused.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.connected = sink.Register(reg, m.connected, &err)
	m.refused = sink.Register(reg, m.refused, &err)
	m.messages = sink.Register(reg, m.messages, &err)
	m.callErrors = sink.Register(reg, m.callErrors, &err)
	m.calls = sink.Register(reg, m.calls, &err)
	m.timeouts = sink.Register(reg, m.timeouts, &err)
	m.badValues = sink.Register(reg, m.badValues, &err)
	return m, err
}
