package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// Device is a device as the API shows it.
type Device struct {
	ID       string `json:"id"`
	Driver   string `json:"driver"`
	Online   bool   `json:"online"`
	LastSeen *int64 `json:"last_seen"` // ms; null = never seen
	Error    string `json:"error"`     // last error, "" when none
	Polls    uint64 `json:"polls"`
	Errors   uint64 `json:"errors"`
}

// Datapoint is a datapoint's metadata and last value as the API shows it;
// every key is always present so clients see one shape (MarshalJSON).
type Datapoint struct {
	Device string
	Name   string
	model.Meta
	Value *Value // null until the first reading
}

// MarshalJSON writes device, name, every metadata field of model.Meta (unset
// ones as null, or "" for text) and value, in that order.
func (d Datapoint) MarshalJSON() ([]byte, error) {
	b := []byte(`{"device":`)
	b = strconv.AppendQuote(b, d.Device)
	b = append(b, `,"name":`...)
	b = strconv.AppendQuote(b, d.Name)
	for _, f := range d.MetaFields() {
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, fmt.Errorf("datapoint %s: %s: %w", model.Key(d.Device, d.Name), f.Key, err)
		}
		b = append(append(append(append(b, ',', '"'), f.Key...), '"', ':'), v...)
	}
	v, err := json.Marshal(d.Value)
	if err != nil {
		return nil, err
	}
	return append(append(append(b, `,"value":`...), v...), '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes (for clients and tests).
func (d *Datapoint) UnmarshalJSON(b []byte) error {
	var w struct {
		Device string `json:"device"`
		Name   string `json:"name"`
		Value  *Value `json:"value"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &d.Meta); err != nil {
		return err
	}
	d.Device, d.Name, d.Value = w.Device, w.Name, w.Value
	return nil
}

// Value is a datapoint's reading without its address.
type Value struct {
	Value     any           `json:"value"`
	Timestamp int64         `json:"timestamp"`
	Quality   model.Quality `json:"quality"`
}

// Health is the body of /healthz.
type Health struct {
	Status        string `json:"status"`
	Version       string `json:"version"`
	DevicesOnline int    `json:"devices_online"`
	Devices       int    `json:"devices"`
}

func toDevice(st model.DeviceState) Device {
	d := Device{ID: st.Device, Driver: st.Driver, Online: st.Online, Error: st.Error, Polls: st.Polls, Errors: st.Errors}
	if st.LastSeen != 0 {
		t := st.LastSeen
		d.LastSeen = &t
	}
	return d
}

func toDatapoint(m model.Datapoint, last *model.Value) Datapoint {
	d := Datapoint{Device: m.Device, Name: m.Name, Meta: m.Meta}
	if last != nil {
		d.Value = &Value{Value: jsonSafe(last.Value), Timestamp: last.Time, Quality: last.Quality}
	}
	return d
}

func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	if e := checkParams(r.URL.Query()); e != nil {
		writeError(w, e)
		return
	}
	states := s.bus.Devices()
	out := make([]Device, 0, len(states))
	for _, st := range states {
		out = append(out, toDevice(st))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleDatapoints lists datapoints; each filter may be repeated (values are OR-ed).
func (s *Server) handleDatapoints(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if e := checkParams(q, "device", "kind", "role"); e != nil {
		writeError(w, e)
		return
	}
	for _, k := range q["kind"] {
		if k != string(model.Sensor) && k != string(model.Actuator) {
			writeError(w, errorf(http.StatusBadRequest, "kind", "kind %q: want sensor or actuator", model.Short(k)))
			return
		}
	}
	out := []Datapoint{}
	for _, p := range s.bus.Datapoints() {
		if match(q["device"], p.Device) && match(q["kind"], string(p.Kind)) && match(q["role"], p.Role) {
			out = append(out, toDatapoint(p.Datapoint, p.Last))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// match reports whether v passes a filter (no filter values pass everything).
func match(filter []string, v string) bool {
	return len(filter) == 0 || slices.Contains(filter, v)
}

func (s *Server) handleDatapoint(w http.ResponseWriter, r *http.Request) {
	if e := checkParams(r.URL.Query()); e != nil {
		writeError(w, e)
		return
	}
	device, name := pathKey(r)
	meta, last, has, ok := s.bus.Datapoint(device, name)
	if !ok {
		writeError(w, unknownPoint(device, name))
		return
	}
	var lp *model.Value
	if has {
		lp = &last
	}
	writeJSON(w, http.StatusOK, toDatapoint(meta, lp))
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, health(s.bus, s.opts.Version))
}

func health(b *bus.Bus, version string) Health {
	h := Health{Status: "ok", Version: version}
	for _, st := range b.Devices() {
		h.Devices++
		if st.Online {
			h.DevicesOnline++
		}
	}
	return h
}

// jsonSafe replaces numbers JSON cannot carry (NaN, ±Inf) with null, which
// means "not available"; anything else is returned unchanged.
func jsonSafe(v any) any {
	f, ok := model.AsFloat(v)
	if ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return nil
	}
	return v
}
