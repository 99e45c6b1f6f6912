package cfos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/model"
)

// Commands lists the api/<query> commands the dialect executes.
func Commands() []string { return []string{"enter_rfid", "set_cm_vars", "set_params"} }

// rfidDedupe is how long an enter_rfid is remembered: the same id and
// wallbox again within it is a duplicate and not sent again.
const rfidDedupe = time.Minute

type rfidEntry struct {
	rfid string
	at   time.Time
}

// Answer is the api_res message of one api/<query>.
type Answer struct {
	Query     string `json:"query"`
	Cmd       string `json:"cmd"`
	OK        bool   `json:"ok"`
	Error     string `json:"error,omitempty"`
	Unchanged bool   `json:"unchanged,omitempty"` // the request asked for what holds already (a duplicate)
}

// api executes one api/<query> and answers on api_res.
func (d *Dialect) api(ctx context.Context, query string, body []byte) {
	d.count("api")
	q, err := url.ParseQuery(query)
	a := Answer{Query: query, Cmd: q.Get("cmd")}
	var unchanged bool
	switch {
	case err != nil:
		err = fmt.Errorf("query %q: %w", model.Short(query), err)
	case a.Cmd == "set_params":
		unchanged, err = d.setParams(ctx, body)
	case a.Cmd == "set_cm_vars":
		unchanged, err = d.setVar(ctx, q.Get("name"), q.Get("val"))
	case a.Cmd == "enter_rfid":
		unchanged, err = d.enterRFID(ctx, q.Get("rfid"), q.Get("dev_id"))
	case a.Cmd == "":
		d.count("api_unknown")
		err = fmt.Errorf("no cmd in query %q (supported: %s)", model.Short(query), strings.Join(Commands(), ", "))
	default:
		d.count("api_unknown")
		err = fmt.Errorf("unknown cmd %q (supported: %s)", model.Short(a.Cmd), strings.Join(Commands(), ", "))
	}
	a.OK, a.Unchanged = err == nil, unchanged && err == nil
	if err != nil {
		a.Error = err.Error()
		d.refused("api "+a.Cmd, err)
	}
	b, _ := json.Marshal(a)
	d.send(ctx, d.root+"/api_res", b, false)
}

// setParams applies {"max_total_cur_prc": 80}: load management's
// max_total_cur_prc input (not persisted, like the charging manager).
func (d *Dialect) setParams(ctx context.Context, body []byte) (bool, error) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimSpace(body), &p); err != nil || len(p) == 0 {
		return false, fmt.Errorf(`set_params: want a JSON object like {"max_total_cur_prc": 80}`)
	}
	var unknown []string
	for k := range p {
		if k != "max_total_cur_prc" {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return false, fmt.Errorf("set_params: unknown parameter %s (supported: max_total_cur_prc)", strings.Join(unknown, ", "))
	}
	var prc float64
	if err := json.Unmarshal(p["max_total_cur_prc"], &prc); err != nil || prc < 0 || prc > 100 {
		return false, fmt.Errorf("set_params: max_total_cur_prc %s: want a number 0…100", model.Short(string(p["max_total_cur_prc"])))
	}
	if _, _, _, ok := d.bus.Datapoint(lm, "max_total_cur_prc"); !ok {
		return false, errors.New("set_params: max_total_cur_prc needs load management (the loadmanagement: section)")
	}
	return d.setUnchanged(ctx, lm, "max_total_cur_prc", prc)
}

// setUnchanged is set, telling whether the value held already.
func (d *Dialect) setUnchanged(ctx context.Context, device, name string, v any) (bool, error) {
	if d.same(device, name, v) {
		d.count("duplicate")
		return true, nil
	}
	return false, d.write(ctx, device, name, v)
}

// setVar applies set_cm_vars: a charging-manager variable is the datapoint
// dialects.cfos.vars maps it to; val is read for the datapoint's format.
func (d *Dialect) setVar(ctx context.Context, name, val string) (bool, error) {
	if name == "" {
		return false, errors.New("set_cm_vars: want name=<variable>&val=<value>")
	}
	key, ok := d.cfg.Vars[name]
	if !ok {
		return false, fmt.Errorf("set_cm_vars: variable %q is not mapped to a datapoint (dialects.cfos.vars)", model.Short(name))
	}
	dev, dp, _ := strings.Cut(key, "/")
	meta, _, _, ok := d.bus.Datapoint(dev, dp)
	if !ok {
		return false, fmt.Errorf("set_cm_vars: variable %s: datapoint %s does not exist", name, key)
	}
	v, err := parseVal(meta, val)
	if err != nil {
		return false, fmt.Errorf("set_cm_vars: variable %s (%s): %w", name, key, err)
	}
	return d.setUnchanged(ctx, dev, dp, v)
}

// parseVal reads a query value for a datapoint's format.
func parseVal(meta model.Datapoint, s string) (any, error) {
	switch meta.Format {
	case model.Bool:
		switch strings.ToLower(s) {
		case "1", "true", "on":
			return true, nil
		case "0", "false", "off":
			return false, nil
		}
		return nil, fmt.Errorf("val %q: want 1/0 or true/false", model.Short(s))
	case model.ContinuousNumeric, model.DiscreteNumeric:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("val %q: want a number", model.Short(s))
		}
		return f, nil
	}
	return s, nil
}

// enterRFID authorises a session with an id tag on the charger's OCPP
// connector (its id_tag actuator sends RemoteStartTransaction). The same
// id tag for the same wallbox within a minute is a duplicate.
func (d *Dialect) enterRFID(ctx context.Context, rfid, id string) (bool, error) {
	if rfid == "" || id == "" {
		return false, errors.New("enter_rfid: want rfid=<id tag>&dev_id=<wallbox>")
	}
	dev, err := d.ids.charger(id)
	if err != nil {
		return false, fmt.Errorf("enter_rfid: %w", err)
	}
	if _, ok := d.bus.Device(dev); !ok {
		return false, fmt.Errorf("enter_rfid: no charger device %s", dev)
	}
	if _, _, _, ok := d.bus.Datapoint(dev, "id_tag"); !ok {
		return false, fmt.Errorf("enter_rfid: charger %s takes no RFID (it is not an OCPP connector with id_tag)", dev)
	}
	if e, ok := d.rfids[id]; ok && e.rfid == rfid && time.Since(e.at) < rfidDedupe {
		d.count("duplicate")
		return true, nil
	}
	if err := d.write(ctx, dev, "id_tag", rfid); err != nil {
		return false, fmt.Errorf("enter_rfid: %w", err)
	}
	d.rfids[id] = rfidEntry{rfid: rfid, at: time.Now()}
	return false, nil
}
