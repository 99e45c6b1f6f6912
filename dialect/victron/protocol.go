package victron

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/gridbox/gridbox/bus"
)

// encode is {"value": v}, with the completion echo when given.
func encode(v any, echo *string) []byte {
	m := map[string]any{"value": v}
	if echo != nil {
		m["full-publish-completed-echo"] = *echo
	}
	b, err := json.Marshal(m)
	if err != nil { // a value JSON cannot carry (NaN): unavailable
		return []byte(`{"value":null}`)
	}
	return b
}

// request handles one R or W message.
func (d *Dialect) request(ctx context.Context, m inMsg) {
	kind, rest, _ := strings.Cut(m.topic, "/")
	id, rest, _ := strings.Cut(rest, "/")
	if id != d.id {
		return
	}
	switch {
	case kind == "R" && rest == "keepalive":
		d.keepalive(ctx, m.payload)
	case kind == "R" && rest == serialPath: // the legacy keep-alive
		d.count("keepalive")
		d.extend(ctx, true, nil)
	case kind == "R":
		d.read(ctx, rest)
	case kind == "W":
		d.write(rest, m.payload)
	}
}

// keepOptions is the keep-alive payload: empty, or options.
type keepOptions struct {
	Options []json.RawMessage `json:"keepalive-options"`
}

// keepalive parses the options and extends liveness.
func (d *Dialect) keepalive(ctx context.Context, payload []byte) {
	d.count("keepalive")
	republish := true
	var echo *string
	if len(strings.TrimSpace(string(payload))) > 0 {
		var list []string
		var o keepOptions
		switch {
		case json.Unmarshal(payload, &list) == nil: // the legacy list of topics: every topic is kept alive
		case json.Unmarshal(payload, &o) == nil:
			for _, raw := range o.Options {
				var s string
				var m map[string]string
				switch {
				case json.Unmarshal(raw, &s) == nil && s == "suppress-republish":
					republish = false
				case json.Unmarshal(raw, &m) == nil && m["full-publish-completed-echo"] != "":
					e := m["full-publish-completed-echo"]
					echo = &e
				}
			}
		default:
			d.count("refused")
			d.log.Warn("victron keep-alive refused: payload is neither empty nor JSON options", "payload", short(payload))
			return
		}
	}
	d.extend(ctx, republish, echo)
}

// extend keeps values flowing for keepAlive and, unless suppressed or rate
// limited, republishes every path followed by full_publish_completed.
func (d *Dialect) extend(ctx context.Context, republish bool, echo *string) {
	now := time.Now()
	d.aliveUntil, d.alive = now.Add(d.keepAlive), true
	if !republish {
		return
	}
	recent := d.republished[:0]
	for _, t := range d.republished {
		if now.Sub(t) < time.Second {
			recent = append(recent, t)
		}
	}
	d.republished = recent
	if len(recent) >= maxRepublishes {
		d.count("rate_limited")
		return
	}
	d.republished = append(d.republished, now)
	d.summary(ctx, false)
	d.send(ctx, "N/"+d.id+"/"+serialPath, encode(d.id, nil), true)
	for _, p := range sortedPaths(d.t) {
		d.notify(ctx, p)
	}
	d.send(ctx, "N/"+d.id+"/full_publish_completed", encode(float64(now.Unix()), echo), false)
}

// heartbeat runs every HeartbeatEvery: a heartbeat while alive, and the
// expiry (in the legacy mode, every retained path is cleared).
func (d *Dialect) heartbeat(ctx context.Context, now time.Time) {
	if !d.alive {
		return
	}
	if now.After(d.aliveUntil) {
		d.alive = false
		d.count("expired")
		if d.cfg.Retained {
			for _, p := range sortedPaths(d.t) {
				d.clear(ctx, p)
			}
		}
		return
	}
	d.send(ctx, "N/"+d.id+"/heartbeat", encode(float64(now.Unix()), nil), false)
}

// read answers one path or every path of a sub-tree.
func (d *Dialect) read(ctx context.Context, p string) {
	d.count("read")
	if _, ok := d.t.paths[p]; ok {
		d.notify(ctx, p)
		return
	}
	n := 0
	for _, q := range sortedPaths(d.t) {
		if strings.HasPrefix(q, p+"/") {
			d.notify(ctx, q)
			n++
		}
	}
	if n == 0 {
		d.log.Debug("victron read of an unknown path", "path", p)
	}
}

// write queues a W request for the write worker.
func (d *Dialect) write(p string, payload []byte) {
	var body map[string]any
	v, has := any(nil), false
	if json.Unmarshal(payload, &body) == nil {
		v, has = body["value"]
	}
	pt, ok := d.t.paths[p]
	switch {
	case !has:
		d.refuse(p, `payload must be an object with a "value" key`)
		return
	case !ok || pt.key == "":
		d.refuse(p, "no writable datapoint at this path")
		return
	}
	dev, name, _ := strings.Cut(pt.key, "/")
	select {
	case d.writes <- writeReq{device: dev, name: name, path: p, value: v}:
	default:
		d.refuse(p, "write queue full")
	}
}

func (d *Dialect) refuse(p, why string) {
	d.count("refused")
	d.bus.CountRejected()
	d.log.Warn("victron write refused", "path", p, "reason", why)
}

// writeWorker applies writes through the bus (limits, audit log with
// source victron) until ctx is done; the new value comes back as an N.
func (d *Dialect) writeWorker(ctx context.Context) {
	ctx = bus.WithSource(ctx, "victron")
	for {
		select {
		case <-ctx.Done():
			return
		case w := <-d.writes:
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			_, err := d.bus.Write(wctx, w.device, w.name, w.value)
			cancel()
			if err != nil {
				d.count("write_failed")
				d.log.Warn("victron write failed", "path", w.path, "device", w.device, "datapoint", w.name, "err", err)
				continue
			}
			d.count("write")
		}
	}
}

func short(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}
