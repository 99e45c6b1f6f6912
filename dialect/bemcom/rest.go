package bemcom

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// Routes are BEMCom's REST API under /bemcom/: reads need the API's read
// access, POSTs its write access.
func (d *Dialect) Routes() []sink.Route {
	if !d.cfg.has(RoleAPI) {
		return nil
	}
	h := func(f http.HandlerFunc) http.Handler { return f }
	return []sink.Route{
		{Pattern: "GET /bemcom/datapoint/{$}", Handler: h(d.handleList)},
		{Pattern: "GET /bemcom/datapoint/last_value/{$}", Handler: h(d.handleLastValue)},
		{Pattern: "GET /bemcom/datapoint/{id}/{$}", Handler: h(d.handleOne)},
		{Pattern: "GET /bemcom/datapoint/{id}/value/{$}", Handler: h(d.handleValues)},
		{Pattern: "POST /bemcom/datapoint/{id}/value/{$}", Handler: h(d.handlePostValue), Write: true},
		{Pattern: "GET /bemcom/datapoint/{id}/setpoint/{$}", Handler: h(d.handleGetItems("setpoint"))},
		{Pattern: "GET /bemcom/datapoint/{id}/schedule/{$}", Handler: h(d.handleGetItems("schedule"))},
		{Pattern: "POST /bemcom/datapoint/{id}/setpoint/{$}", Handler: h(d.handlePostItems("setpoint")), Write: true},
		{Pattern: "POST /bemcom/datapoint/{id}/schedule/{$}", Handler: h(d.handlePostItems("schedule")), Write: true},
	}
}

// datapointJSON is BEMCom's datapoint object.
type datapointJSON struct {
	ID             int              `json:"id"`
	Connector      connectorJSON    `json:"connector"`
	KeyInConnector string           `json:"key_in_connector"`
	Type           model.Kind       `json:"type"`
	DataFormat     model.Format     `json:"data_format"`
	ShortName      string           `json:"short_name"`
	Description    string           `json:"description"`
	MinValue       *float64         `json:"min_value"`
	MaxValue       *float64         `json:"max_value"`
	AllowedValues  []any            `json:"allowed_values"`
	Unit           string           `json:"unit"`
	last           *model.Value     `json:"-"`
	point          *model.Datapoint `json:"-"`
}

type connectorJSON struct {
	Name string `json:"name"`
}

// restPoint is one datapoint as BEMCom shows it: gridbox's own under its
// device's connector with its name as key, imported ones with their
// connector's name and key.
func (d *Dialect) restPoint(p bus.Point) datapointJSON {
	conn, key := p.Device, p.Name
	d.mu.Lock()
	if ec, ok := d.extDev[p.Device]; ok {
		conn, key = ec.name, ec.keyOf[p.Name]
	}
	d.mu.Unlock()
	dp := p.Datapoint
	return datapointJSON{ID: d.assign(p.Key()), Connector: connectorJSON{conn}, KeyInConnector: key, Type: p.Kind,
		DataFormat: p.Format, ShortName: p.Key(), Description: p.Description, MinValue: p.Min, MaxValue: p.Max,
		AllowedValues: p.Allowed, Unit: p.Unit, last: p.Last, point: &dp}
}

// points lists the datapoints that pass the query's filters.
func (d *Dialect) points(q url.Values) ([]datapointJSON, error) {
	var ids []int
	if s := q.Get("id__in"); s != "" {
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return nil, fmt.Errorf("id__in: %q is not an integer", model.Short(f))
			}
			ids = append(ids, n)
		}
	}
	var out []datapointJSON
	for _, p := range d.o.Bus.Datapoints() {
		dp := d.restPoint(p)
		if keep(dp, q, ids) {
			out = append(out, dp)
		}
	}
	return out, nil
}

// keep applies the filters of BEMCom's datapoint list.
func keep(dp datapointJSON, q url.Values, ids []int) bool {
	eq := func(param, v string) bool { s := q.Get(param); return s == "" || s == v }
	has := func(param, v string) bool {
		s := q.Get(param)
		return s == "" || strings.Contains(strings.ToLower(v), strings.ToLower(s))
	}
	return (ids == nil || slices.Contains(ids, dp.ID)) && eq("id", strconv.Itoa(dp.ID)) &&
		eq("connector__name", dp.Connector.Name) && eq("type", string(dp.Type)) && eq("data_format", string(dp.DataFormat)) &&
		eq("short_name", dp.ShortName) && has("short_name__icontains", dp.ShortName) &&
		eq("key_in_connector", dp.KeyInConnector) && has("key_in_connector__icontains", dp.KeyInConnector) &&
		has("description__icontains", dp.Description) && eq("unit", dp.Unit)
}

func (d *Dialect) handleList(w http.ResponseWriter, r *http.Request) {
	out, err := d.points(r.URL.Query())
	if err != nil {
		d.restError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, nonNil(out))
}

func (d *Dialect) handleOne(w http.ResponseWriter, r *http.Request) {
	dp, ok := d.byID(w, r)
	if ok {
		writeJSON(w, http.StatusOK, dp)
	}
}

// restValue is a value message on REST: the value JSON-encoded as a string.
type restValue struct {
	Value     string `json:"value"`
	Timestamp int64  `json:"timestamp"`
}

func restValueOf(v model.Value) restValue {
	var x any
	if v.Quality == model.Good {
		x = v.Value
	}
	return restValue{Value: pyJSON(x), Timestamp: v.Time}
}

func (d *Dialect) handleLastValue(w http.ResponseWriter, r *http.Request) {
	pts, err := d.points(r.URL.Query())
	if err != nil {
		d.restError(w, http.StatusBadRequest, err)
		return
	}
	msgs := map[string]restValue{}
	for _, dp := range pts {
		if dp.last != nil {
			msgs[strconv.Itoa(dp.ID)] = restValueOf(*dp.last)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"msgs_by_datapoint_id": msgs})
}

// byID resolves the {id} of a path, answering 404 itself.
func (d *Dialect) byID(w http.ResponseWriter, r *http.Request) (datapointJSON, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	key, known := d.ids.lookup(id)
	if err != nil || !known {
		d.restError(w, http.StatusNotFound, fmt.Errorf("no datapoint with id %q", model.Short(r.PathValue("id"))))
		return datapointJSON{}, false
	}
	dev, name, _ := strings.Cut(key, "/")
	meta, last, has, ok := d.o.Bus.Datapoint(dev, name)
	if !ok {
		d.restError(w, http.StatusNotFound, fmt.Errorf("datapoint %d (%s) is not active", id, key))
		return datapointJSON{}, false
	}
	p := bus.Point{Datapoint: meta}
	if has {
		p.Last = &last
	}
	return d.restPoint(p), true
}

// restError answers {"detail": …} like Django REST framework and counts
// the bad request.
func (d *Dialect) restError(w http.ResponseWriter, code int, err error) {
	d.o.Count("refused")
	writeJSON(w, code, map[string]string{"detail": err.Error()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// problemsOf lists a refused list's problems, or the error itself.
func problemsOf(err error) []string {
	var p interface{ Problems() []string }
	if errors.As(err, &p) {
		return p.Problems()
	}
	return []string{err.Error()}
}
