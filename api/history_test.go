package api

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

func TestHistoryParams(t *testing.T) {
	const (
		t0  = int64(1714521600000) // 2024-05-01T00:00:00Z
		hms = int64(3_600_000)
	)
	tests := []struct {
		name             string
		query            string
		from, to         int64
		interval         time.Duration
		agg              string
		echoInt, echoAgg any
		limit            int
	}{
		{"ms", "from=1714521600000&to=1714525200000", t0, t0 + hms, 0, "", nil, nil, 0},
		{"rfc3339", "from=2024-05-01T00:00:00Z&to=2024-05-01T01:00:00.5Z", t0, t0 + hms + 500, 0, "", nil, nil, 0},
		{"rfc3339 offset", "from=" + url.QueryEscape("2024-05-01T02:00:00+02:00") + "&to=1714525200000", t0, t0 + hms, 0, "", nil, nil, 0},
		{"unencoded plus", "from=2024-05-01T02:00:00+02:00&to=1714525200000", t0, t0 + hms, 0, "", nil, nil, 0},
		{"default from", "to=1714525200000", t0, t0 + hms, 0, "", nil, nil, 0},
		{"interval default agg", "from=1714521600000&to=1714525200000&interval=15m", t0, t0 + hms, 15 * time.Minute, "mean", "15m", "mean", 0},
		{"interval day", "from=1714521600000&to=1714525200000&interval=1d&agg=max", t0, t0 + hms, 24 * time.Hour, "max", "1d", "max", 0},
		{"interval compound", "from=1714521600000&to=1714525200000&interval=1h30m&agg=count", t0, t0 + hms, 90 * time.Minute, "count", "1h30m", "count", 0},
		{"limit", "from=1714521600000&to=1714525200000&limit=500", t0, t0 + hms, 0, "", nil, nil, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			e.history.samples = []model.Sample{{Time: t0, Value: 1.5}}
			w := e.do(t, "GET", "/api/v1/datapoints/room/temperature/history?"+tt.query, "", "")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			q := e.history.last
			want := model.HistoryQuery{Device: "room", Name: "temperature", From: tt.from, To: tt.to, Interval: tt.interval, Agg: tt.agg, Limit: tt.limit}
			if q == nil || *q != want {
				t.Fatalf("query %+v, want %+v", q, want)
			}
			var ans map[string]any
			decode(t, w, &ans)
			if ans["device"] != "room" || ans["name"] != "temperature" || ans["from"] != float64(tt.from) || ans["to"] != float64(tt.to) ||
				ans["interval"] != tt.echoInt || ans["agg"] != tt.echoAgg {
				t.Errorf("answer %s", w.Body)
			}
			samples, _ := ans["samples"].([]any)
			if len(samples) != 1 || samples[0].(map[string]any)["value"] != 1.5 || samples[0].(map[string]any)["timestamp"] != float64(t0) {
				t.Errorf("samples %v", ans["samples"])
			}
		})
	}
}

func TestHistoryDefaultRange(t *testing.T) {
	e := newEnv(t, Options{})
	before := time.Now().UnixMilli()
	w := e.do(t, "GET", "/api/v1/datapoints/room/temperature/history", "", "")
	after := time.Now().UnixMilli()
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	q := e.history.last
	if q.To < before || q.To > after || q.To-q.From != time.Hour.Milliseconds() || q.Interval != 0 {
		t.Errorf("query %+v: want to = now, from = to - 1h, raw", q)
	}
	var ans HistoryAnswer
	decode(t, w, &ans)
	if ans.Samples == nil {
		t.Error("samples is null, want []")
	}
}

func TestHistoryBadParams(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct{ query, field, sub string }{
		{"from=yesterday", "from", `"yesterday" is neither integer milliseconds nor RFC 3339`},
		{"to=2024-13-01T00:00:00Z", "to", "RFC 3339"},
		{"from=-5", "from", "before 1970"},
		{"from=1714525200000&to=1714521600000", "from", "is after to"},
		{"interval=fast", "interval", `"fast" is not a duration`},
		{"interval=0s", "interval", "at least 1ms"},
		{"interval=-1h", "interval", "at least 1ms"},
		{"interval=xd", "interval", "whole number of days"},
		{"interval=1h&agg=median", "agg", `agg "median": want one of mean, min`},
		{"agg=max", "agg", "needs an interval"},
		{"from=1&from=2", "from", "given 2 times"},
		{"limit=0", "limit", "at least 1"},
		{"limit=ten", "limit", "whole number"},
		{"limits=10", "limits", `unknown query parameter "limits"`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			e.history.last = nil
			wantError(t, e.do(t, "GET", "/api/v1/datapoints/room/temperature/history?"+tt.query, "", ""), 400, tt.field, tt.sub)
			if e.history.last != nil {
				t.Error("store was asked despite bad parameters")
			}
		})
	}
}

func TestHistoryErrors(t *testing.T) {
	e := newEnv(t, Options{})
	wantError(t, e.do(t, "GET", "/api/v1/datapoints/room/foo/history", "", ""), 404, "", "unknown datapoint room/foo")

	e.history.err = &model.QueryError{Field: "limit", Msg: "limit: answer has more than 100000 samples"}
	wantError(t, e.do(t, "GET", "/api/v1/datapoints/room/temperature/history", "", ""), 400, "limit", "more than 100000")

	e.history.err = errors.New("disk on fire")
	wantError(t, e.do(t, "GET", "/api/v1/datapoints/room/temperature/history", "", ""), 500, "", "disk on fire")

	srv, err := New(e.bus, Options{Auth: "none"})
	if err != nil {
		t.Fatal(err)
	}
	e.h = srv.Handler()
	wantError(t, e.do(t, "GET", "/api/v1/datapoints/room/temperature/history", "", ""), 503, "", "no store")
}
