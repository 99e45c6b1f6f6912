package api

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gridbox/gridbox/model"
)

// Audit answers: the default span, the default and largest number of records.
const (
	auditSpan     = 24 * time.Hour
	auditLimit    = 1000
	auditMaxLimit = 100_000
)

// handleAudit answers GET /api/v1/audit?from=&to=&datapoint=&limit= with a
// JSON array of audit records, oldest first.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q, e := parseAudit(r.URL.Query(), time.Now())
	if e != nil {
		writeError(w, e)
		return
	}
	if s.opts.Audit == nil {
		writeError(w, errorf(http.StatusServiceUnavailable, "", "the audit log is not available: no store configured"))
		return
	}
	recs, err := s.opts.Audit.AuditRecords(r.Context(), q)
	if err != nil {
		s.log.Warn("audit query failed", "err", err)
		writeError(w, errorf(http.StatusInternalServerError, "", "audit: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, recs)
}

// parseAudit reads the audit query: from and to as for history (default:
// the last 24 h), datapoint "<device>/<name>", limit 1..100000 (default 1000).
func parseAudit(v url.Values, now time.Time) (model.AuditQuery, *httpError) {
	q := model.AuditQuery{To: now.UnixMilli(), Limit: auditLimit}
	if e := checkParams(v, "from", "to", "datapoint", "limit"); e != nil {
		return q, e
	}
	vals := map[string]string{}
	for _, k := range []string{"from", "to", "datapoint", "limit"} {
		s, e := single(v, k)
		if e != nil {
			return q, e
		}
		vals[k] = s
	}
	if s := vals["to"]; s != "" {
		t, err := parseTime(s)
		if err != nil {
			return q, errorf(http.StatusBadRequest, "to", "to: %v", err)
		}
		q.To = t
	}
	q.From = max(q.To-auditSpan.Milliseconds(), 0)
	if s := vals["from"]; s != "" {
		t, err := parseTime(s)
		if err != nil {
			return q, errorf(http.StatusBadRequest, "from", "from: %v", err)
		}
		q.From = t
	}
	if q.From > q.To {
		return q, errorf(http.StatusBadRequest, "from", "from %d is after to %d", q.From, q.To)
	}
	q.Datapoint = vals["datapoint"]
	if s := vals["limit"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > auditMaxLimit {
			return q, errorf(http.StatusBadRequest, "limit", "limit %q: want a whole number of records, 1..%d", model.Short(s), auditMaxLimit)
		}
		q.Limit = n
	}
	return q, nil
}
