package bemcom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/control"
	"github.com/gridbox/gridbox/model"
)

// maxSkew is how far from now a posted timestamp may lie.
const maxSkew = 24 * time.Hour

const maxBody = 1 << 20

// handleValues answers the value history: [{"value": "<json>", "timestamp": ms}],
// filtered by timestamp__gte/__lte (and __gt/__lt), averaged per interval.
func (d *Dialect) handleValues(w http.ResponseWriter, r *http.Request) {
	dp, ok := d.byID(w, r)
	if !ok {
		return
	}
	if d.o.History == nil {
		d.restError(w, http.StatusServiceUnavailable, errors.New("no history: gridbox keeps none (add a store)"))
		return
	}
	q, err := historyQuery(dp, r)
	if err != nil {
		d.restError(w, http.StatusBadRequest, err)
		return
	}
	samples, err := d.o.History.History(r.Context(), q)
	if errors.Is(err, model.ErrNoHistory) {
		samples, err = nil, nil
	}
	if err != nil {
		d.restError(w, http.StatusBadRequest, err)
		return
	}
	out := make([]restValue, 0, len(samples))
	for _, s := range samples {
		out = append(out, restValue{Value: pyJSON(s.Value), Timestamp: s.Time})
	}
	writeJSON(w, http.StatusOK, out)
}

func historyQuery(dp datapointJSON, r *http.Request) (model.HistoryQuery, error) {
	p := r.URL.Query()
	q := model.HistoryQuery{Device: dp.point.Device, Name: dp.point.Name, From: 0, To: math.MaxInt64}
	bound := func(param string, into *int64, delta int64) error {
		s := p.Get(param)
		if s == "" {
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a timestamp in ms", param, model.Short(s))
		}
		*into = n + delta
		return nil
	}
	for _, b := range []struct {
		param string
		into  *int64
		delta int64
	}{{"timestamp__gte", &q.From, 0}, {"timestamp__gt", &q.From, 1}, {"timestamp__lte", &q.To, 0}, {"timestamp__lt", &q.To, -1}} {
		if err := bound(b.param, b.into, b.delta); err != nil {
			return q, err
		}
	}
	if s := p.Get("interval"); s != "" {
		iv, err := parseInterval(s)
		if err != nil {
			return q, err
		}
		q.Interval, q.Agg = iv, "mean"
		if !dp.point.Format.Numeric() {
			q.Agg = "last"
		}
	}
	if q.To == math.MaxInt64 {
		q.To = model.NowMs() + int64(maxSkew/time.Millisecond)
	}
	if err := q.Check(); err != nil {
		return q, err
	}
	return q, nil
}

// handlePostValue writes an actuator through gridbox's write path (limits,
// audit log with source bemcom): {"value": "<json>", "timestamp": ms}.
func (d *Dialect) handlePostValue(w http.ResponseWriter, r *http.Request) {
	dp, ok := d.byID(w, r)
	if !ok {
		return
	}
	var in struct {
		Value     *string `json:"value"`
		Timestamp *int64  `json:"timestamp"`
	}
	if err := d.readBody(r, &in); err != nil || in.Value == nil {
		if err == nil {
			err = errors.New(`value: required (a JSON-encoded string, like "22.5")`)
		}
		d.refuseWrite(w, err)
		return
	}
	v, err := fromJSONString(*in.Value)
	if err == nil {
		err = checkActuator(dp, in.Timestamp)
	}
	if err != nil {
		d.refuseWrite(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(bus.WithSource(r.Context(), Source), writeTimeout)
	defer cancel()
	got, err := d.o.Bus.Write(ctx, dp.point.Device, dp.point.Name, v)
	var invalid *bus.InvalidError
	switch {
	case errors.As(err, &invalid):
		d.restError(w, http.StatusBadRequest, err)
		return
	case err != nil:
		d.restError(w, http.StatusBadGateway, err)
		return
	}
	ts := model.NowMs()
	if in.Timestamp != nil {
		ts = *in.Timestamp
	}
	d.o.Count("write")
	writeJSON(w, http.StatusCreated, restValue{Value: pyJSON(got), Timestamp: ts})
}

func checkActuator(dp datapointJSON, ts *int64) error {
	if dp.Type != model.Actuator {
		return fmt.Errorf("datapoint %d is a %s: only actuators take values, setpoints and schedules", dp.ID, dp.Type)
	}
	if ts != nil {
		if skew := time.Duration(*ts-model.NowMs()) * time.Millisecond; skew > maxSkew || skew < -maxSkew {
			return fmt.Errorf("timestamp %d: too far from now (want within %s)", *ts, maxSkew)
		}
	}
	return nil
}

func (d *Dialect) refuseWrite(w http.ResponseWriter, err error) {
	d.o.Bus.CountRejected()
	d.restError(w, http.StatusBadRequest, err)
}

func (d *Dialect) readBody(r *http.Request, out any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if len(data) > maxBody {
		return fmt.Errorf("body: larger than %d bytes", maxBody)
	}
	if err := decodeObject(data, out); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	return nil
}

// handlePostItems takes a setpoint or schedule: {"setpoint"|"schedule":
// [items] or null, "timestamp": ms}, with preferred_value and value as
// JSON-encoded strings. It is checked against the actuator, handed to
// gridbox's controller when that controls the actuator, and published
// retained on C/messages/N/<what> for BEMCom controllers.
func (d *Dialect) handlePostItems(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		dp, ok := d.byID(w, r)
		if !ok {
			return
		}
		var in map[string]json.RawMessage
		if err := d.readBody(r, &in); err != nil {
			d.refuseWrite(w, err)
			return
		}
		var ts *int64
		if raw, ok := in["timestamp"]; ok {
			var n int64
			if err := json.Unmarshal(raw, &n); err != nil {
				d.refuseWrite(w, fmt.Errorf("timestamp: want integer ms"))
				return
			}
			ts = &n
		}
		plain, err := plainItems(what, in[what])
		if err == nil {
			err = checkActuator(dp, ts)
		}
		if err == nil {
			err = checkItems(what, plain, *dp.point)
		}
		if err != nil {
			d.o.Bus.CountRejected()
			d.o.Count("refused")
			writeJSON(w, http.StatusBadRequest, map[string]any{what: problemsOf(err)})
			return
		}
		now := model.NowMs()
		if ts == nil {
			ts = &now
		}
		if d.o.Controls != nil {
			err := d.o.Controls.SetItems(dp.point.Device, dp.point.Name, what, plain, *ts)
			if err != nil && !errors.Is(err, model.ErrNotControlled) {
				writeJSON(w, http.StatusBadRequest, map[string]any{what: problemsOf(err)})
				return
			}
		}
		topic := dp.Connector.Name + "/messages/" + strconv.Itoa(dp.ID) + "/" + what
		if err := d.publish(r.Context(), topic, map[string]any{what: json.RawMessage(plain), "timestamp": *ts}, 0, true); err != nil {
			d.log.Warn("bemcom: "+what+" not published", "datapoint", dp.point.Key(), "err", err)
		}
		out := map[string]any{what: json.RawMessage(in[what]), "timestamp": *ts}
		if len(in[what]) == 0 {
			out[what] = nil
		}
		d.remember(fmt.Sprintf("%d/%s", dp.ID, what), out)
		writeJSON(w, http.StatusCreated, out)
	}
}

// plainItems decodes REST items (JSON-encoded strings) into MQTT's plain JSON.
func plainItems(what string, raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return []byte("null"), nil
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%s: want a list of items or null: %w", what, err)
	}
	field := map[string]string{"setpoint": "preferred_value", "schedule": "value"}[what]
	var problems control.ItemErrors
	for i, it := range items {
		s, ok := it[field].(string)
		if !ok {
			problems = append(problems, fmt.Sprintf("[%d].%s: want a JSON-encoded string, like \"22.5\"", i, field))
			continue
		}
		v, err := fromJSONString(s)
		if err != nil {
			problems = append(problems, fmt.Sprintf("[%d].%s: %v", i, field, err))
			continue
		}
		it[field] = v
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return json.Marshal(items)
}

func checkItems(what string, plain []byte, act model.Datapoint) error {
	var err error
	if what == "setpoint" {
		_, err = control.ParseSetpoint(plain, act)
	} else {
		_, err = control.ParseSchedule(plain, act)
	}
	return err
}

// maxPosted bounds the setpoint and schedule messages kept per datapoint.
const maxPosted = 100

func (d *Dialect) remember(key string, msg map[string]any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	list := append(d.posted[key], msg)
	if len(list) > maxPosted {
		list = list[len(list)-maxPosted:]
	}
	d.posted[key] = list
}

// handleGetItems lists the setpoint or schedule messages POSTed since
// gridbox started, oldest first, in the encoding they were posted in;
// timestamp__gte and timestamp__lte filter them.
func (d *Dialect) handleGetItems(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		dp, ok := d.byID(w, r)
		if !ok {
			return
		}
		from, to := int64(math.MinInt64), int64(math.MaxInt64)
		for param, into := range map[string]*int64{"timestamp__gte": &from, "timestamp__lte": &to} {
			if s := r.URL.Query().Get(param); s != "" {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					d.restError(w, http.StatusBadRequest, fmt.Errorf("%s: %q is not a timestamp in ms", param, model.Short(s)))
					return
				}
				*into = n
			}
		}
		d.mu.Lock()
		all := d.posted[fmt.Sprintf("%d/%s", dp.ID, what)]
		out := make([]any, 0, len(all))
		for _, m := range all {
			if ts := m.(map[string]any)["timestamp"].(int64); ts >= from && ts <= to {
				out = append(out, m)
			}
		}
		d.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	}
}
