package api

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
)

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

// logged is one record with its attributes as strings.
type logged struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (l *logRecorder) all() []logged {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logged
	for _, r := range l.records {
		g := logged{level: r.Level, msg: r.Message, attrs: map[string]string{}}
		r.Attrs(func(a slog.Attr) bool {
			g.attrs[a.Key] = a.Value.String()
			return true
		})
		out = append(out, g)
	}
	return out
}

// writesTotal reads gridbox_writes_total{result} as the bus's collector exports it.
func writesTotal(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gridbox_writes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("gridbox_writes_total{result=%q} not exported", result)
	return 0
}

// newLoggedEnv is newEnv with a recorded log and the bus's collector registered.
func newLoggedEnv(t *testing.T) (*env, *logRecorder, *prometheus.Registry) {
	t.Helper()
	rec := &logRecorder{}
	e := newEnv(t, Options{Log: slog.New(rec)})
	reg := prometheus.NewRegistry()
	reg.MustRegister(bus.NewCollector(e.bus))
	return e, rec, reg
}

// TestWriteRefusalsCountedAndLogged: every write the API refuses before the
// bus is counted as gridbox_writes_total{result="rejected"} and logged once
// at Warn with datapoint, remote address, status and reason.
func TestWriteRefusalsCountedAndLogged(t *testing.T) {
	tests := []struct {
		name, path, body string
		status           int
		datapoint        string
	}{
		{"bad body", setpointURL, `{"value": 2`, 400, "room/setpoint"},
		{"empty body", setpointURL, ``, 400, "room/setpoint"},
		{"wrong-case key", setpointURL, `{"Value": 21}`, 400, "room/setpoint"},
		{"duplicate key", setpointURL, `{"value": 22, "value": 23}`, 400, "room/setpoint"},
		{"unknown key", setpointURL, `{"value": 22, "force": true}`, 400, "room/setpoint"},
		{"unknown datapoint", "/api/v1/datapoints/room/foo/value", `{"value": 20}`, 404, "room/foo"},
		{"bad query", setpointURL + "?force=1", `{"value": 20}`, 400, "room/setpoint"},
		{"empty query value", setpointURL + "?x=", `{"value": 20}`, 400, "room/setpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, rec, reg := newLoggedEnv(t)
			w := e.do(t, "PUT", tt.path, tt.body, "")
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			var answer Error
			decode(t, w, &answer)
			if got := writesTotal(t, reg, "rejected"); got != 1 {
				t.Errorf(`gridbox_writes_total{result="rejected"} = %v, want 1`, got)
			}
			if ok, failed, _ := e.bus.WriteStats(); ok != 0 || failed != 0 {
				t.Errorf("ok %d failed %d, want 0 0", ok, failed)
			}
			var warns []logged
			for _, l := range rec.all() {
				if l.level >= slog.LevelWarn {
					warns = append(warns, l)
				}
			}
			if len(warns) != 1 {
				t.Fatalf("%d Warn records, want exactly 1: %+v", len(warns), rec.all())
			}
			l := warns[0]
			want := map[string]string{"datapoint": tt.datapoint, "remote": "192.0.2.1:1234", "status": strconv.Itoa(tt.status), "reason": answer.Error}
			for k, v := range want {
				if l.attrs[k] != v {
					t.Errorf("log %q: %s=%q, want %q", l.msg, k, l.attrs[k], v)
				}
			}
		})
	}
}

// TestBusRefusalCountedOnce: a write the bus refuses is counted by the bus
// only (not once more by the API) and logged once; a device failure counts
// as failed and is logged once.
func TestBusRefusalCountedOnce(t *testing.T) {
	e, rec, reg := newLoggedEnv(t)
	wantError(t, e.do(t, "PUT", setpointURL, `{"value": 31}`, ""), 422, "value", "above max")
	if got := writesTotal(t, reg, "rejected"); got != 1 {
		t.Errorf(`rejected = %v after one bus refusal, want 1`, got)
	}
	e.room.err = errDevice
	wantError(t, e.do(t, "PUT", setpointURL, `{"value": 20}`, ""), 502, "", "slave device failure")
	if got := writesTotal(t, reg, "failed"); got != 1 {
		t.Errorf(`failed = %v, want 1`, got)
	}
	if got := writesTotal(t, reg, "rejected"); got != 1 {
		t.Errorf(`rejected = %v after a device failure, want still 1`, got)
	}
	var msgs []string
	for _, l := range rec.all() {
		if l.level >= slog.LevelWarn {
			msgs = append(msgs, l.msg+" "+l.attrs["status"])
			if l.attrs["datapoint"] != "room/setpoint" || l.attrs["remote"] == "" || l.attrs["reason"] == "" {
				t.Errorf("log %q lacks datapoint, remote or reason: %v", l.msg, l.attrs)
			}
		}
	}
	if strings.Join(msgs, ",") != "write refused 422,write failed 502" {
		t.Errorf("Warn records %q, want one refusal (422) and one failure (502)", msgs)
	}
}

// TestNoLongEcho: no answer and no log line repeats more than a short
// prefix of a huge path, key, parameter or value.
func TestNoLongEcho(t *testing.T) {
	huge := strings.Repeat("x", 60<<10) // below HeaderLimit when in the URL
	hugeBody := strings.Repeat("y", 60<<10)
	tests := []struct {
		name, method, target, body string
		status                     int
	}{
		{"404 path", "GET", "/api/v1/" + huge, "", 404},
		{"405 path", "DELETE", "/api/v1/datapoints/room/" + huge, "", 405},
		{"unknown datapoint", "GET", "/api/v1/datapoints/room/" + huge, "", 404},
		{"unknown datapoint write", "PUT", "/api/v1/datapoints/room/" + huge + "/value", `{"value": 1}`, 404},
		{"history of unknown", "GET", "/api/v1/datapoints/room/" + huge + "/history", "", 404},
		{"query key", "GET", "/api/v1/devices?" + huge + "=1", "", 400},
		{"write query key", "PUT", setpointURL + "?" + huge + "=1", `{"value": 1}`, 400},
		{"kind", "GET", "/api/v1/datapoints?kind=" + huge, "", 400},
		{"from", "GET", "/api/v1/datapoints/room/temperature/history?from=" + huge, "", 400},
		{"interval", "GET", "/api/v1/datapoints/room/temperature/history?interval=" + huge, "", 400},
		{"interval days", "GET", "/api/v1/datapoints/room/temperature/history?interval=" + huge + "d", "", 400},
		{"agg", "GET", "/api/v1/datapoints/room/temperature/history?interval=1h&agg=" + huge, "", 400},
		{"agg without interval", "GET", "/api/v1/datapoints/room/temperature/history?agg=" + huge, "", 400},
		{"limit", "GET", "/api/v1/datapoints/room/temperature/history?limit=" + huge, "", 400},
		{"stream device", "GET", "/api/v1/stream?device=" + huge, "", 404},
		{"unknown key", "PUT", setpointURL, `{"` + hugeBody + `": 1}`, 400},
		{"long key", "PUT", setpointURL, `{"VALUE` + hugeBody + `": 1}`, 400},
		{"huge number", "PUT", setpointURL, `{"value": 1` + strings.Repeat("0", 60<<10) + `}`, 400},
		{"huge bare number", "PUT", setpointURL, `1` + strings.Repeat("0", 60<<10), 400},
		{"string not allowed", "PUT", "/api/v1/datapoints/room/mode/value", `{"value": "` + hugeBody + `"}`, 422},
		{"string to number", "PUT", setpointURL, `{"value": "` + hugeBody + `"}`, 400},
		{"array value", "PUT", setpointURL, `{"value": ["` + hugeBody + `"]}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, rec, _ := newLoggedEnv(t)
			w := e.do(t, tt.method, tt.target, tt.body, "")
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			var answer Error
			decode(t, w, &answer)
			if n := w.Body.Len(); n > 400 {
				t.Errorf("answer is %d bytes, want a short one: %.300s…", n, w.Body)
			}
			if strings.Contains(answer.Error, strings.Repeat("x", model.ShortLen+1)) || strings.Contains(answer.Error, strings.Repeat("y", model.ShortLen+1)) ||
				strings.Contains(answer.Error, strings.Repeat("0", model.ShortLen+1)) || utf8.RuneCountInString(answer.Field) > model.ShortLen+1 {
				t.Errorf("answer repeats more than %d characters of the input: %s", model.ShortLen, w.Body)
			}
			for _, l := range rec.all() {
				for k, v := range l.attrs {
					if len(v) > 400 {
						t.Errorf("log %q attribute %s is %d bytes: %.100s…", l.msg, k, len(v), v)
					}
				}
			}
		})
	}
}
