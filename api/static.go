package api

import (
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// openapiDoc is the hand-written OpenAPI 3.0 description of every endpoint.
//
//go:embed openapi.json
var openapiDoc []byte

// uiPolicy keeps the page from loading anything but its own files and the API.
const uiPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	if e := checkParams(r.URL.Query()); e != nil {
		writeError(w, e)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(openapiDoc)
}

// handleMetrics serves the Gatherer in the Prometheus formats, or 404 without one.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if s.metrics == nil {
		writeError(w, errorf(http.StatusNotFound, "", "metrics are not enabled"))
		return
	}
	s.metrics.ServeHTTP(w, r)
}

// newMetricsHandler serves g for /metrics; nil without a Gatherer.
func newMetricsHandler(g prometheus.Gatherer, log *slog.Logger) http.Handler {
	if g == nil {
		return nil
	}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      promLogger{log},
		ErrorHandling: promhttp.ContinueOnError, // one failing collector does not hide the others
	})
}

// promLogger lets promhttp report gathering errors through slog.
type promLogger struct{ log *slog.Logger }

// Println implements promhttp.Logger.
func (l promLogger) Println(v ...any) { l.log.Warn("metrics: " + fmt.Sprint(v...)) }
