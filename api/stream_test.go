package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

// sseEvent is one block of a Server-Sent Events stream.
type sseEvent struct{ event, data, comment string }

// openStream connects to the stream and returns its events, read by a
// goroutine that ends when the response body is closed.
func openStream(t *testing.T, ctx context.Context, url string) (*http.Response, <-chan sseEvent) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan sseEvent, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				events <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, ": "):
				ev.comment = strings.TrimPrefix(line, ": ")
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return resp, events
}

// next waits (generously) for the next event.
func next(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return sseEvent{}
}

// waitNoStreams polls until the bus has no api-stream subscription left.
func waitNoStreams(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		for _, s := range e.bus.Subscriptions() {
			if s.Name == "api-stream" {
				n++
			}
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d api-stream subscriptions left after the client went away", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStream(t *testing.T) {
	e := newEnv(t, Options{Auth: "token", Tokens: []string{testToken}})
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, events := openStream(t, ctx, ts.URL+"/api/v1/stream?device=room&access_token="+testToken)

	if ev := next(t, events); ev.comment != "connected" {
		t.Fatalf("first event %+v, want comment connected", ev)
	}
	ev := next(t, events)
	var d Device
	if ev.event != "state" || json.Unmarshal([]byte(ev.data), &d) != nil || d.ID != "room" {
		t.Fatalf("initial state %+v, want room's state", ev)
	}

	// The pv value is filtered out, so the next value event is room's.
	e.bus.Publish(model.Value{Device: "pv", Name: "ac_power", Value: 900.0, Time: 1, Quality: model.Good})
	e.bus.Publish(model.Value{Device: "room", Name: "temperature", Value: 21.5, Time: 2, Quality: model.Good})
	ev = next(t, events)
	var v model.Value
	if ev.event != "value" || json.Unmarshal([]byte(ev.data), &v) != nil {
		t.Fatalf("event %+v, want a value", ev)
	}
	if v != (model.Value{Device: "room", Name: "temperature", Value: 21.5, Time: 2, Quality: model.Good}) {
		t.Errorf("value %+v", v)
	}

	e.bus.SetState(model.DeviceState{Device: "room", Online: true, LastSeen: 3}, 1, 0)
	ev = next(t, events)
	if ev.event != "state" || json.Unmarshal([]byte(ev.data), &d) != nil || d.ID != "room" || !d.Online {
		t.Fatalf("event %+v, want room online", ev)
	}

	cancel()
	waitNoStreams(t, e)
}

func TestStreamHeartbeat(t *testing.T) {
	e := newEnv(t, Options{})
	e.srv.heartbeat = 20 * time.Millisecond
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // before ts.Close, which waits for the stream to end
	_, events := openStream(t, ctx, ts.URL+"/api/v1/stream")
	for {
		if ev := next(t, events); ev.comment == "ping" {
			return
		}
	}
}

func TestStreamEndsWithServerContext(t *testing.T) {
	e := newEnv(t, Options{})
	serverCtx, stop := context.WithCancel(context.Background())
	ts := httptest.NewUnstartedServer(e.h)
	ts.Config.BaseContext = func(net.Listener) context.Context { return serverCtx }
	ts.Start()
	defer ts.Close()
	defer stop() // before ts.Close, which waits for the stream to end
	_, events := openStream(t, context.Background(), ts.URL+"/api/v1/stream")
	if ev := next(t, events); ev.comment != "connected" {
		t.Fatalf("first event %+v", ev)
	}
	stop()
	waitNoStreams(t, e)
	for range events { // the server ends the response: the reader sees EOF
	}
}

func TestStreamBadRequests(t *testing.T) {
	e := newEnv(t, Options{})
	wantError(t, e.do(t, "GET", "/api/v1/stream?device=nosuch", "", ""), 404, "device", "unknown device nosuch")
	wantError(t, e.do(t, "GET", "/api/v1/stream?since=1", "", ""), 400, "since", "unknown query parameter")
	if n := len(e.bus.Subscriptions()); n != 0 {
		t.Errorf("%d subscriptions left by rejected stream requests", n)
	}
}
