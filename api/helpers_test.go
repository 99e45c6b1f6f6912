package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
)

const testToken = "s3cret-token"

// fakeWriter records writes and answers with err, or reads back the value.
type fakeWriter struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeWriter) Write(_ context.Context, name string, v any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	if f.err != nil {
		return nil, f.err
	}
	return v, nil
}

func (f *fakeWriter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// fakeHistory records the last query and answers samples or err.
type fakeHistory struct {
	mu      sync.Mutex
	last    *model.HistoryQuery
	samples []model.Sample
	err     error
	keeps   map[string]bool // datapoints with (empty) history when samples is nil
}

func (f *fakeHistory) History(_ context.Context, q model.HistoryQuery) ([]model.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = &q
	if f.samples == nil && f.err == nil && !f.keeps[model.Key(q.Device, q.Name)] {
		return nil, model.ErrNoHistory
	}
	return f.samples, f.err
}

func fp(f float64) *float64 { return &f }

// env is a bus with three devices and a server on it.
type env struct {
	bus     *bus.Bus
	room    *fakeWriter // room: writable, no rate limit
	slow    *fakeWriter // slow: writable, one write per hour
	srv     *Server
	h       http.Handler
	reg     *prometheus.Registry
	history *fakeHistory
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	e := &env{bus: bus.New(), room: &fakeWriter{}, slow: &fakeWriter{}, reg: prometheus.NewRegistry(), history: &fakeHistory{}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.bus.AddDevice(model.DeviceState{Device: "room", Driver: "modbus"}, []model.Datapoint{
		{Name: "temperature", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "°C", Role: "room_temperature"}},
		{Name: "setpoint", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "°C", Min: fp(5), Max: fp(30)}},
		{Name: "mode", Meta: model.Meta{Kind: model.Actuator, Format: model.DiscreteText, Allowed: []any{"auto", "off"}}},
		{Name: "enabled", Meta: model.Meta{Kind: model.Actuator, Format: model.Bool}},
	}, e.room, 0))
	must(e.bus.AddDevice(model.DeviceState{Device: "pv", Driver: "modbus"}, []model.Datapoint{
		{Name: "ac_power", Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: "W", Role: "pv_power"}},
		{Name: "limit", Meta: model.Meta{Kind: model.Actuator, Format: model.ContinuousNumeric, Unit: "%"}},
	}, nil, 0))
	must(e.bus.AddDevice(model.DeviceState{Device: "slow", Driver: "sim"}, []model.Datapoint{
		{Name: "setpoint", Meta: model.Meta{Kind: model.Actuator, Format: model.GenericNumeric}},
	}, e.slow, 3_600_000))
	if o.Auth == "" {
		o.Auth = "none"
	}
	if o.Metrics == nil {
		o.Metrics = e.reg
	}
	if o.Gatherer == nil {
		o.Gatherer = e.reg
	}
	if o.History == nil {
		o.History = e.history
	}
	srv, err := New(e.bus, o)
	must(err)
	e.srv, e.h = srv, srv.Handler()
	return e
}

// do sends one request to the handler; tok "" sends no Authorization header.
func (e *env) do(t *testing.T, method, target, body, tok string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return w
}

// decode unmarshals a JSON answer into v.
func decode(t *testing.T, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, w.Body)
	}
}

// wantError checks status and that the body is {"error", "field"} with the field and a message containing sub.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, field, sub string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	var raw map[string]any
	decode(t, w, &raw)
	if len(raw) != 2 {
		t.Errorf("error body %s: want exactly the keys error and field", w.Body)
	}
	msg, _ := raw["error"].(string)
	if f, ok := raw["field"].(string); !ok || f != field {
		t.Errorf("field %v, want %q (body %s)", raw["field"], field, w.Body)
	}
	if msg == "" || !strings.Contains(msg, sub) {
		t.Errorf("error %q does not contain %q", msg, sub)
	}
}

var errDevice = errors.New("modbus exception 4: slave device failure")
