package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/model"
)

// HistoryAnswer is the body of a history request.
type HistoryAnswer struct {
	Device   string         `json:"device"`
	Name     string         `json:"name"`
	Interval *string        `json:"interval"` // as given; null for raw values
	Agg      *string        `json:"agg"`      // null for raw values
	From     int64          `json:"from"`     // ms, inclusive
	To       int64          `json:"to"`       // ms, inclusive
	Samples  []model.Sample `json:"samples"`
}

// defaultSpan is the history range when from is not given.
const defaultSpan = time.Hour

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	device, name := pathKey(r)
	_, _, _, known := s.bus.Datapoint(device, name)
	q, ans, e := parseHistory(r.URL.Query(), time.Now())
	if e != nil {
		writeError(w, e)
		return
	}
	if s.opts.History == nil {
		writeError(w, errorf(http.StatusServiceUnavailable, "", "history is not available: no store configured"))
		return
	}
	q.Device, q.Name = device, name
	samples, err := s.opts.History.History(r.Context(), q)
	if errors.Is(err, model.ErrNoHistory) {
		if !known { // never kept, and not (or no longer) in the catalog
			writeError(w, unknownPoint(device, name))
			return
		}
		samples, err = nil, nil
	}
	var qe *model.QueryError
	if errors.As(err, &qe) {
		writeError(w, errorf(http.StatusBadRequest, qe.Field, "%s", qe.Msg))
		return
	}
	if err != nil {
		s.log.Warn("history query failed", "datapoint", model.Key(device, name), "err", err)
		writeError(w, errorf(http.StatusInternalServerError, "", "history of %s: %v", model.Key(device, name), err))
		return
	}
	if samples == nil {
		samples = []model.Sample{}
	}
	for i := range samples {
		samples[i].Value = jsonSafe(samples[i].Value)
	}
	ans.Device, ans.Name, ans.Samples = device, name, samples
	writeJSON(w, http.StatusOK, ans)
}

// parseHistory turns the query parameters into a checked query and the
// answer's echo of them.
func parseHistory(v url.Values, now time.Time) (model.HistoryQuery, HistoryAnswer, *httpError) {
	var q model.HistoryQuery
	var ans HistoryAnswer
	if e := checkParams(v, "from", "to", "interval", "agg", "limit"); e != nil {
		return q, ans, e
	}
	vals := map[string]string{}
	for _, k := range []string{"from", "to", "interval", "agg", "limit"} {
		s, e := single(v, k)
		if e != nil {
			return q, ans, e
		}
		vals[k] = s
	}
	q.To = now.UnixMilli()
	if s := vals["to"]; s != "" {
		t, err := parseTime(s)
		if err != nil {
			return q, ans, errorf(http.StatusBadRequest, "to", "to: %v", err)
		}
		q.To = t
	}
	q.From = max(q.To-defaultSpan.Milliseconds(), 0)
	if s := vals["from"]; s != "" {
		t, err := parseTime(s)
		if err != nil {
			return q, ans, errorf(http.StatusBadRequest, "from", "from: %v", err)
		}
		q.From = t
	}
	if q.From > q.To {
		return q, ans, errorf(http.StatusBadRequest, "from", "from %d is after to %d", q.From, q.To)
	}
	if e := parseBuckets(vals["interval"], vals["agg"], &q, &ans); e != nil {
		return q, ans, e
	}
	if s := vals["limit"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, ans, errorf(http.StatusBadRequest, "limit", "limit %q: want a whole number of samples, at least 1", model.Short(s))
		}
		q.Limit = n
	}
	var qe *model.QueryError
	if err := q.Check(); errors.As(err, &qe) {
		return q, ans, errorf(http.StatusBadRequest, qe.Field, "%s", qe.Msg)
	}
	ans.From, ans.To = q.From, q.To
	return q, ans, nil
}

// parseBuckets reads interval and agg; agg defaults to mean and needs an interval.
func parseBuckets(interval, agg string, q *model.HistoryQuery, ans *HistoryAnswer) *httpError {
	if interval == "" {
		if agg != "" {
			return errorf(http.StatusBadRequest, "agg", "agg %q needs an interval (raw values are not aggregated)", model.Short(agg))
		}
		return nil
	}
	d, err := parseInterval(interval)
	if err != nil {
		return errorf(http.StatusBadRequest, "interval", "interval: %v", err)
	}
	if agg == "" {
		agg = "mean"
	}
	if !model.ValidAgg(agg) {
		return errorf(http.StatusBadRequest, "agg", "agg %q: want one of %s", model.Short(agg), strings.Join(model.Aggs(), ", "))
	}
	q.Interval, q.Agg = d, agg
	ans.Interval, ans.Agg = &interval, &agg
	return nil
}

// parseTime accepts integer milliseconds since the epoch or RFC 3339.
func parseTime(s string) (int64, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < 0 {
			return 0, fmt.Errorf("%d ms is before 1970", ms)
		}
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil && strings.Contains(s, " ") {
		// An unencoded "+01:00" arrives as " 01:00".
		t, err = time.Parse(time.RFC3339Nano, strings.Replace(s, " ", "+", 1))
	}
	if err != nil {
		return 0, fmt.Errorf("%q is neither integer milliseconds nor RFC 3339 (2024-05-01T12:00:00Z)", model.Short(s))
	}
	return t.UnixMilli(), nil
}

// parseInterval accepts Go durations (15m, 1h30m) and whole days (1d, 7d).
func parseInterval(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 3660 {
			return 0, fmt.Errorf("%q: want a whole number of days 1..3660, like 1d", model.Short(s))
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration like 15m, 1h or 1d", model.Short(s))
		}
	}
	if d < time.Millisecond {
		return 0, fmt.Errorf("%q: want at least 1ms", model.Short(s))
	}
	return d, nil
}
