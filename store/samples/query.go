package samples

import (
	"fmt"
	"time"

	"github.com/gridbox/gridbox/model"
)

// MaxRows caps one History answer. A query without Limit whose answer would
// be longer fails with a QueryError on "limit" instead of being truncated
// silently; a Limit above MaxRows is refused the same way.
const MaxRows = 100_000

// CheckQuery validates q with model's Check and the stores' own limits.
func CheckQuery(q model.HistoryQuery) error {
	if err := q.Check(); err != nil {
		return err
	}
	switch {
	case q.Limit > MaxRows:
		return &model.QueryError{Field: "limit", Msg: fmt.Sprintf("limit %d is above the maximum %d", q.Limit, MaxRows)}
	case q.Interval%time.Millisecond != 0:
		return &model.QueryError{Field: "interval", Msg: fmt.Sprintf("interval %s is not a whole number of milliseconds", q.Interval)}
	}
	return nil
}

// Limit is the row limit a store queries with: q.Limit, or without one
// MaxRows+1, one more to tell "exactly MaxRows" from "too many".
func Limit(q model.HistoryQuery) int {
	if q.Limit == 0 {
		return MaxRows + 1
	}
	return q.Limit
}

// CheckAnswer fails with a QueryError on "limit" when the answer to q, n
// samples long, is longer than MaxRows and q set no Limit.
func CheckAnswer(q model.HistoryQuery, n int) error {
	if q.Limit == 0 && n > MaxRows {
		return &model.QueryError{Field: "limit", Msg: fmt.Sprintf(
			"limit: answer has more than %d samples; narrow from/to, use a larger interval or set limit", MaxRows)}
	}
	return nil
}
