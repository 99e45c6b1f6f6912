package samples

import (
	"math"
	"testing"

	"github.com/gridbox/gridbox/model"
)

// TestEncodeRoundTrip: every JSON scalar comes back as it went in, NaN as
// null, and an unsupported type is refused.
func TestEncodeRoundTrip(t *testing.T) {
	cases := []struct {
		in, want any
		q        model.Quality
	}{
		{nil, nil, model.Good}, {"x", "x", model.Stale}, {true, true, model.Bad},
		{false, false, ""}, {int64(7), 7.0, model.Good}, {math.NaN(), nil, model.Good},
	}
	for _, c := range cases {
		col, ok := Encode(c.in, c.q)
		if !ok {
			t.Fatalf("Encode(%v) refused", c.in)
		}
		st := Stored{Kind: col.Kind, Q: col.Q}
		if f, ok := col.Num.(float64); ok {
			st.Num = &f
		}
		if s, ok := col.Txt.(string); ok {
			st.Txt = &s
		}
		wantQ := c.q
		if wantQ == "" {
			wantQ = model.Good
		}
		if got := st.Value(); got != c.want || st.Quality() != wantQ {
			t.Errorf("%v: got %v %q, want %v %q", c.in, got, st.Quality(), c.want, wantQ)
		}
	}
	if _, ok := Encode(struct{}{}, model.Good); ok {
		t.Error("struct{}{} encoded")
	}
}

// TestAnswerLimit: without a limit one row more than MaxRows is queried and
// refused; with one the answer is never refused.
func TestAnswerLimit(t *testing.T) {
	q := model.HistoryQuery{}
	if Limit(q) != MaxRows+1 || CheckAnswer(q, MaxRows) != nil || CheckAnswer(q, MaxRows+1) == nil {
		t.Error("no limit: want MaxRows+1 queried, MaxRows+1 refused")
	}
	q.Limit = 10
	if Limit(q) != 10 || CheckAnswer(q, 10) != nil {
		t.Error("limit 10")
	}
}
