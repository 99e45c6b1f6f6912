package record

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// Collector keeps the last value of every datapoint and the status
// changes not yet sent, and builds a cycle's payload from them. It is not
// safe for concurrent use: one goroutine (the dialect's or the uplink's
// writer) owns it.
type Collector struct {
	opts     Options
	values   map[string]map[string]model.Value
	sent     map[string]int // device → last status level sent
	statuses map[string]*Status
}

// NewCollector returns an empty collector; o is used with its defaults.
func NewCollector(o Options) *Collector {
	return &Collector{opts: o.WithDefaults(), values: map[string]map[string]model.Value{},
		sent: map[string]int{}, statuses: map[string]*Status{}}
}

// Options are the collector's options with their defaults.
func (c *Collector) Options() Options { return c.opts }

// Seed takes the last values and states the bus has.
func (c *Collector) Seed(b *bus.Bus) {
	for _, p := range b.Datapoints() {
		if p.Last != nil {
			c.Value(*p.Last)
		}
	}
	for _, st := range b.Devices() {
		c.State(st)
	}
}

// Value notes a datapoint's value.
func (c *Collector) Value(v model.Value) {
	if !c.opts.selected(v.Device) {
		return
	}
	m := c.values[v.Device]
	if m == nil {
		m = map[string]model.Value{}
		c.values[v.Device] = m
	}
	m[v.Name] = v
}

// State notes a status item when the device's level changed.
func (c *Collector) State(st model.DeviceState) {
	if !c.opts.selected(st.Device) {
		return
	}
	s := status(st)
	if lvl, seen := c.sent[st.Device]; seen && lvl == s.Level {
		return
	}
	c.statuses[st.Device] = &s
}

// Event forgets removed devices and datapoints.
func (c *Collector) Event(e bus.Event) {
	switch e.Type {
	case bus.DeviceRemoved:
		delete(c.values, e.Device.Device)
		delete(c.statuses, e.Device.Device)
		delete(c.sent, e.Device.Device)
	case bus.DatapointRemoved:
		if m := c.values[e.Point.Device]; m != nil {
			delete(m, e.Point.Name)
		}
	}
}

// Build is the payload of the cycle starting at t; ok is false when no
// device has anything to report (no message then). Call Sent once the
// payload is safely on its way, so its status items are not repeated.
func (c *Collector) Build(t time.Time, configID string) (p Payload, ok bool) {
	began := time.Now()
	recs := c.records(t.Add(-c.opts.MaxAge.D()).UnixMilli())
	if len(recs) == 0 {
		return p, false
	}
	return Payload{T: t.Unix(), R: recs, M: Meta{DataProvider: DataProvider,
		ReadingDuration: time.Since(began).Seconds(), ConfigID: configID}}, true
}

// Sent marks the pending status items as sent.
func (c *Collector) Sent() {
	for dev, st := range c.statuses {
		c.sent[dev] = st.Level
	}
	clear(c.statuses)
}

// MetaTopics are the u/meta/* topic suffixes and texts: host boot time,
// gridbox's start time (RFC 3339 UTC), version and architecture.
func MetaTopics(started time.Time, version string) [][2]string {
	return [][2]string{
		{"boot_time", bootTime(started).UTC().Format(time.RFC3339)},
		{"start_time", started.UTC().Format(time.RFC3339)},
		{"snap_rev", version},
		{"arch", runtime.GOARCH},
	}
}

// bootTime is the host's boot time from /proc/stat (Linux), else fallback.
func bootTime(fallback time.Time) time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return fallback
	}
	for line := range strings.Lines(string(b)) {
		if s, ok := strings.CutPrefix(line, "btime "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
				return time.Unix(n, 0)
			}
		}
	}
	return fallback
}
