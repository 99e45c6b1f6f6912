package uplink

import (
	"encoding/json"
	"time"

	"github.com/gridbox/gridbox/model"
)

// localStatus is what the gateway's own state (<prefix>/$state on the local
// MQTT sinks) says of this uplink's queue, and when it was said.
type localStatus struct {
	key  statusKey
	at   time.Time
	told bool
}

// statusKey is the part of the status whose change is told at once.
type statusKey struct {
	full, degraded bool
	dropped        uint64
}

// statusRefresh is how often an unchanged queue's size is told again.
const statusRefresh = 30 * time.Second

// localStatus tells the gateway's state (field "uplink/<name>") about the
// queue: at once when it fills past 90 %, degrades or drops values, and
// every statusRefresh otherwise, so an overflow is visible locally, not
// only on the remote broker that cannot be reached.
func (s *Sink) localStatus(st Stats, now time.Time) {
	k := statusKey{full: st.Bytes >= s.maxBytes*9/10, degraded: s.degraded.Load(), dropped: st.Dropped}
	if s.status.told && k == s.status.key && now.Sub(s.status.at) < statusRefresh {
		return
	}
	s.status = localStatus{key: k, at: now, told: true}
	s.env.Bus.SetGatewayStatus("uplink/"+s.env.Name, map[string]any{
		"queue_bytes": st.Bytes, "max_bytes": s.maxBytes, "queue_values": st.Values, "acked_seq": st.Acked,
		"overflow": s.cfg.Overflow, "full": k.full, "degraded": k.degraded, "dropped": k.dropped,
	})
}

// aggregated is the payload of <prefix>/$aggregated/<device>/<name>: one
// datapoint's rollup of the window that ended at Time.
type aggregated struct {
	Time    int64  `json:"timestamp"` // window end, ms
	Window  string `json:"window"`
	Last    any    `json:"last,omitempty"`
	Mean    any    `json:"mean,omitempty"`
	Min     any    `json:"min,omitempty"`
	Max     any    `json:"max,omitempty"`
	Count   any    `json:"count,omitempty"`
	Sum     any    `json:"sum,omitempty"` // delta and total streams
	Quality string `json:"quality"`
}

// announce publishes the closed windows' rollups locally, one retained
// message per datapoint, on $aggregated/<device>/<name>.
func (s *Sink) announce(rollups []model.Value) {
	if len(rollups) == 0 {
		return
	}
	byPoint := map[string]*aggregated{}
	var order []string
	for _, v := range rollups {
		name, stat := splitStat(v.Name)
		key := v.Device + "/" + name
		a := byPoint[key]
		if a == nil || a.Time != v.Time {
			if a != nil { // an older window of the same datapoint: send it first
				s.publishAggregated(key, a)
			}
			a = &aggregated{Time: v.Time, Window: s.cfg.Aggregate.D().String(), Quality: string(v.Quality)}
			if a.Quality == "" {
				a.Quality = string(model.Good)
			}
			byPoint[key] = a
			order = append(order, key)
		}
		switch stat {
		case "last":
			a.Last = v.Value
		case "mean":
			a.Mean = v.Value
		case "min":
			a.Min = v.Value
		case "max":
			a.Max = v.Value
		case "count":
			a.Count = v.Value
		case "sum":
			a.Sum = v.Value
		}
	}
	for _, key := range order {
		if a := byPoint[key]; a != nil {
			s.publishAggregated(key, a)
			byPoint[key] = nil
		}
	}
}

func (s *Sink) publishAggregated(key string, a *aggregated) {
	b, err := json.Marshal(a)
	if err != nil {
		return
	}
	s.env.Bus.Announce("$aggregated/"+key, b, true)
}

// splitStat splits a rollup's name "<name>/<stat>".
func splitStat(n string) (string, string) {
	for i := len(n) - 1; i >= 0; i-- {
		if n[i] == '/' {
			return n[:i], n[i+1:]
		}
	}
	return n, "last"
}
