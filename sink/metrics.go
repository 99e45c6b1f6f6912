package sink

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c, or reuses the collector already registered under
// the same name (a sink reopened on the same registry); errors accumulate in
// *errp, so a sink registers all its metrics and checks once.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
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
