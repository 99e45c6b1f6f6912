package driver

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// RegisterMetric registers c with reg, or returns the collector already
// registered under the same name (the devices of one driver, and several
// gateways in one test process, share a registry).
func RegisterMetric[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
