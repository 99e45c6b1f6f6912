package api

import (
	"math"
	"net/http"
	"slices"

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
// every key is always present so clients see one shape.
type Datapoint struct {
	Device      string       `json:"device"`
	Name        string       `json:"name"`
	Kind        model.Kind   `json:"kind"`
	Format      model.Format `json:"format"`
	Unit        string       `json:"unit"`
	Min         *float64     `json:"min"`
	Max         *float64     `json:"max"`
	Allowed     []any        `json:"allowed"`
	Description string       `json:"description"`
	Role        string       `json:"role"`
	Value       *Value       `json:"value"` // null until the first reading
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
	d := Datapoint{
		Device: m.Device, Name: m.Name, Kind: m.Kind, Format: m.Format, Unit: m.Unit,
		Min: m.Min, Max: m.Max, Allowed: m.Allowed, Description: m.Description, Role: m.Role,
	}
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
