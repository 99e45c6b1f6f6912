package model

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Aggregations accepted by history queries.
// energy is the integral of a power datapoint in Wh (docs/api.md).
var aggs = []string{"mean", "min", "max", "last", "first", "sum", "count", "energy"}

// Aggs returns the valid aggregation names.
func Aggs() []string { return append([]string(nil), aggs...) }

// ValidAgg reports whether s names an aggregation.
func ValidAgg(s string) bool {
	for _, a := range aggs {
		if a == s {
			return true
		}
	}
	return false
}

// HistoryQuery asks for one datapoint's values in [From, To] (ms, inclusive).
// With Interval 0 the raw values are returned; otherwise one sample per
// interval bucket (bucket start as timestamp) aggregated with Agg.
type HistoryQuery struct {
	Device, Name string
	From, To     int64
	Interval     time.Duration
	Agg          string
	Limit        int // 0 = no limit
}

// Check validates the query; a problem is a *QueryError naming the field.
func (q HistoryQuery) Check() error {
	bad := func(field, format string, args ...any) error {
		return &QueryError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case q.To < q.From:
		return bad("to", "to %d is before from %d", q.To, q.From)
	case q.Interval < 0:
		return bad("interval", "interval %s is negative", q.Interval)
	case q.Interval > 0 && q.Interval < time.Millisecond:
		return bad("interval", "interval %s is below 1ms", q.Interval)
	case q.Interval > 0 && !ValidAgg(q.Agg):
		return bad("agg", "agg %q: want one of %v", q.Agg, aggs)
	case q.Limit < 0:
		return bad("limit", "limit %d is negative", q.Limit)
	}
	return nil
}

// QueryError is a history query that cannot be answered as asked; Field
// names the parameter at fault (from, to, interval, agg, limit).
type QueryError struct {
	Field string
	Msg   string
}

// Error returns the message.
func (e *QueryError) Error() string { return e.Msg }

// Sample is one point of a history answer.
type Sample struct {
	Time    int64   `json:"timestamp"`
	Value   any     `json:"value"`
	Quality Quality `json:"quality,omitempty"`
}

// History answers history queries; stores implement it, the API uses it.
type History interface {
	History(ctx context.Context, q HistoryQuery) ([]Sample, error)
}

// ErrNoHistory is returned by History for a datapoint a store has never
// kept a value of (a removed datapoint's history stays and is answered).
var ErrNoHistory = errors.New("no history kept for this datapoint")
