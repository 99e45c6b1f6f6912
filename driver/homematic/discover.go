package homematic

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/gridbox/gridbox/model"
)

// discover reads the CCU's device list and the VALUES paramset description
// of every channel, adds the new datapoints and returns the channels.
func (d *Device) discover(ctx context.Context) ([]string, error) {
	v, err := d.client.Call(ctx, "listDevices")
	if err != nil {
		return nil, d.callErr(err)
	}
	list, ok := v.([]any)
	if !ok {
		d.bad.Add("type")
		return nil, fmt.Errorf("listDevices answered %T, want an array", v)
	}
	var channels []string
	var added []model.Datapoint
	for _, item := range list {
		desc, ok := item.(map[string]any)
		addr, _ := desc["ADDRESS"].(string)
		if !ok || addr == "" {
			d.malformed("type", fmt.Errorf("listDevices: entry %.60s is not a device description", fmt.Sprint(item)))
			continue
		}
		sets, _ := desc["PARAMSETS"].([]any)
		if !slices.Contains(sets, any("VALUES")) {
			continue
		}
		chType, _ := desc["TYPE"].(string)
		pts, err := d.describeChannel(ctx, addr, chType)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			d.log.Warn("homematic: channel skipped", "address", addr, "err", err)
			continue
		}
		channels = append(channels, addr)
		added = append(added, pts...)
	}
	if len(added) > 0 && d.cat != nil {
		if err := d.cat.AddDatapoints(d.cfg.ID, added...); err != nil {
			return nil, fmt.Errorf("add datapoints: %w", err)
		}
	}
	return channels, nil
}

// describeChannel reads one channel's VALUES description and returns the
// datapoints that are new.
func (d *Device) describeChannel(ctx context.Context, addr, chType string) ([]model.Datapoint, error) {
	v, err := d.client.Call(ctx, "getParamsetDescription", addr, "VALUES")
	if err != nil {
		return nil, d.callErr(err)
	}
	descs, ok := v.(map[string]any)
	if !ok {
		d.bad.Add("type")
		return nil, fmt.Errorf("getParamsetDescription %s answered %T, want a struct", addr, v)
	}
	keys := make([]string, 0, len(descs))
	for k := range descs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []model.Datapoint
	var problems []error
	for _, key := range keys {
		desc, ok := descs[key].(map[string]any)
		if !ok {
			problems = append(problems, fmt.Errorf("%s %s: description is %T, want a struct", addr, key, descs[key]))
			continue
		}
		p, err := describe(addr, chType, key, paramName(d.cfg.Names, addr, key), desc)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if dp, added := d.remember(p); added {
			out = append(out, dp)
		}
	}
	for _, err := range problems {
		d.malformed("type", fmt.Errorf("parameter skipped: %w", err))
	}
	return out, nil
}

// remember adds a described parameter unless it is known; a name that is
// taken by another parameter is skipped.
func (d *Device) remember(p *param) (model.Datapoint, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := p.address + "/" + p.key
	if _, known := d.byKey[key]; known {
		return model.Datapoint{}, false
	}
	if _, taken := d.byName[p.dp.Name]; taken {
		d.log.Warn("homematic: datapoint name taken, parameter skipped", "address", p.address, "param", p.key, "name", p.dp.Name)
		return model.Datapoint{}, false
	}
	d.byName[p.dp.Name], d.byKey[key] = p, p
	dp := p.dp
	dp.Device = d.cfg.ID
	return dp, true
}

// readValues publishes the readable values of one channel (getParamset).
func (d *Device) readValues(ctx context.Context, addr string) {
	v, err := d.client.Call(ctx, "getParamset", addr, "VALUES")
	if err != nil {
		if d.callErr(err) != nil {
			d.log.Debug("homematic: getParamset", "address", addr, "err", err)
		}
		return
	}
	vals, ok := v.(map[string]any)
	if !ok {
		d.malformed("type", fmt.Errorf("getParamset %s answered %T, want a struct", addr, v))
		return
	}
	for key, val := range vals {
		d.value(addr, key, val)
	}
}
