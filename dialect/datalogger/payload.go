package datalogger

import (
	"encoding/json"
	"math"
	"slices"
	"sort"

	"github.com/gridbox/gridbox/model"
)

// Status levels of `_s` items: 0 OK … 4 critical.
const (
	LevelOK      = 0
	LevelOffline = 3
)

// Status is one `_s` item.
type Status struct {
	Content string `json:"c"`
	Level   int    `json:"l"`
}

// Payload is the u/data message.
type Payload struct {
	T int64            `json:"t"` // cycle start, Unix seconds
	R []map[string]any `json:"r"` // one record per device
	M Meta             `json:"m"`
}

// Meta is the payload's `m`.
type Meta struct {
	DataProvider    string  `json:"data_provider"`
	ReadingDuration float64 `json:"reading_duration"`
	ConfigID        string  `json:"config_id,omitempty"`
}

// DataProvider names gridbox in `m.data_provider`.
const DataProvider = "gridbox"

// snapshot is what a cycle is built from.
type snapshot struct {
	values   map[string]map[string]model.Value // device → name → last value
	statuses map[string]*Status                // device → a status change to report (nil: none)
}

// records builds the `r` list: per device (sorted), `_d`, `_vid`, every
// good value not older than minMs, and `_s` when the status changed.
// Devices with neither are left out.
func records(s snapshot, vid func(string) string, rename map[string]string, minMs int64) []map[string]any {
	devs := make([]string, 0, len(s.values)+len(s.statuses))
	for d := range s.values {
		devs = append(devs, d)
	}
	for d := range s.statuses {
		if _, ok := s.values[d]; !ok {
			devs = append(devs, d)
		}
	}
	sort.Strings(devs)
	out := []map[string]any{}
	for _, d := range devs {
		rec := map[string]any{}
		for name, v := range s.values[d] {
			if x, ok := field(v, minMs); ok {
				rec[fieldName(rename, d, name)] = x
			}
		}
		if st := s.statuses[d]; st != nil {
			rec["_s"] = []Status{*st}
		}
		if len(rec) == 0 {
			continue
		}
		rec["_d"], rec["_vid"] = d, vid(d)
		out = append(out, rec)
	}
	return out
}

// fieldName is a datapoint's key in its record.
func fieldName(rename map[string]string, dev, name string) string {
	if n, ok := rename[dev+"/"+name]; ok {
		return n
	}
	if n, ok := rename[name]; ok {
		return n
	}
	return name
}

// field is a value as the datalogger sends it: numbers, booleans and
// text; nothing for bad, stale, old or non-finite values.
func field(v model.Value, minMs int64) (any, bool) {
	if v.Quality != model.Good || v.Time < minMs {
		return nil, false
	}
	switch x := v.Value.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return x, true
	case bool, string:
		return x, true
	}
	if f, ok := model.AsFloat(v.Value); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return f, true
	}
	return nil, false
}

// status is a device's status item from its state.
func status(st model.DeviceState) Status {
	if st.Online {
		return Status{Content: "online", Level: LevelOK}
	}
	c := "offline"
	if st.Error != "" {
		c = "offline: " + st.Error
	}
	return Status{Content: c, Level: LevelOffline}
}

// encode marshals the payload.
func encode(p Payload) ([]byte, error) { return json.Marshal(p) }

// selected reports whether a device's records go out.
func (c Config) selected(dev string) bool {
	return len(c.Devices) == 0 || slices.Contains(c.Devices, dev)
}
