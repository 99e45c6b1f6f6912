package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

const (
	streamQueue      = 1024             // values buffered per client before the bus drops (and counts) them
	streamWriteLimit = 30 * time.Second // a client that does not read for this long is dropped
)

// handleStream sends live values (event: value) and device states
// (event: state) as Server-Sent Events until the client goes away or the
// server's context ends. It starts with every device's current state.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if e := checkParams(q, "device", "access_token"); e != nil {
		writeError(w, e)
		return
	}
	devices := q["device"]
	for _, d := range devices {
		if _, ok := s.bus.Device(d); !ok {
			writeError(w, errorf(http.StatusNotFound, "device", "unknown device %s", model.Short(d)))
			return
		}
	}
	sub := s.bus.Subscribe("api-stream", bus.Options{Size: streamQueue, States: true})
	defer s.bus.Unsubscribe(sub)
	s.streams.Inc()
	defer s.streams.Dec()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell reverse proxies not to buffer
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: http.NewResponseController(w)}
	err := s.pump(r, sw, sub, devices)
	s.log.Debug("stream client gone", "remote", r.RemoteAddr, "err", err)
}

// pump copies the subscription to the client until the request ends or a write fails.
func (s *Server) pump(r *http.Request, sw *sseWriter, sub *bus.Subscription, devices []string) error {
	sw.comment("connected")
	for _, st := range s.bus.Devices() {
		if match(devices, st.Device) {
			sw.event("state", toDevice(st))
		}
	}
	if err := sw.flush(); err != nil {
		return err
	}
	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return r.Context().Err()
		case v := <-sub.Values:
			if match(devices, v.Device) {
				v.Value = jsonSafe(v.Value)
				sw.event("value", v)
			}
		case st := <-sub.States:
			if match(devices, st.Device) {
				sw.event("state", toDevice(st))
			}
		case <-tick.C:
			sw.comment("ping")
		}
		if err := sw.flush(); err != nil {
			return err
		}
	}
}

// sseWriter formats events and remembers the first write error.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func (sw *sseWriter) event(name string, v any) {
	data, err := json.Marshal(v)
	if err != nil { // cannot happen for the types sent; tell the client rather than end the stream
		sw.comment(fmt.Sprintf("skipped %s event: %v", name, err))
		return
	}
	sw.write(fmt.Sprintf("event: %s\ndata: %s\n\n", name, data))
}

func (sw *sseWriter) comment(text string) { sw.write(": " + text + "\n\n") }

func (sw *sseWriter) write(s string) {
	if sw.err != nil {
		return
	}
	if err := sw.rc.SetWriteDeadline(time.Now().Add(streamWriteLimit)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		sw.fail(err)
		return
	}
	if _, err := sw.w.Write([]byte(s)); err != nil {
		sw.fail(err)
	}
}

func (sw *sseWriter) fail(err error) {
	if sw.err == nil {
		sw.err = err
	}
}

// flush sends what was written and returns the first error so far.
func (sw *sseWriter) flush() error {
	if sw.err != nil {
		return sw.err
	}
	if err := sw.rc.Flush(); err != nil {
		return fmt.Errorf("flush stream: %w", err)
	}
	return nil
}
