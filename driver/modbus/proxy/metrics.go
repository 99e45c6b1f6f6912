package proxy

import (
	"github.com/gridbox/gridbox/driver"
	"net"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// maxClients bounds the client label: hosts beyond it count as "other".
const maxClients = 32

// metrics count the proxy's requests per client host.
type metrics struct {
	requests *prometheus.CounterVec
	mu       sync.Mutex
	hosts    map[string]bool
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{hosts: map[string]bool{}, requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridbox_modbus_proxy_requests_total",
		Help: "Requests to the Modbus proxy by client host, op (read, write) and result (cached, forwarded, written, refused, error).",
	}, []string{"client", "op", "result"})}
	if reg != nil {
		m.requests = driver.RegisterMetric(reg, m.requests)
	}
	return m
}

// count counts one request of a client (host:port or host).
func (m *metrics) count(client, op, result string) {
	m.requests.WithLabelValues(m.host(client), op, result).Inc()
}

// host is the client's host, or "other" once maxClients hosts were seen.
func (m *metrics) host(client string) string {
	h, _, err := net.SplitHostPort(client)
	if err != nil {
		h = client
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.hosts[h] {
		if len(m.hosts) >= maxClients {
			return "other"
		}
		m.hosts[h] = true
	}
	return h
}
