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
			d.malformed("paramset", err)
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
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, key := range keys {
		desc, ok := descs[key].(map[string]any)
		if !ok {
			d.bad.Add("type")
			continue
		}
		name := paramName(d.cfg.Names, addr, key)
		if _, known := d.byKey[addr+"/"+key]; known {
			continue
		}
		if _, taken := d.byName[name]; taken || name == "" {
			d.log.Warn("homematic: datapoint name taken, parameter skipped", "address", addr, "param", key, "name", name)
			continue
		}
		p, err := describe(addr, chType, key, name, desc)
		if err != nil {
			d.bad.Add("type")
			d.log.Warn("homematic: parameter skipped", "err", err)
			continue
		}
		d.byName[name], d.byKey[addr+"/"+key] = p, p
		dp := p.dp
		dp.Device = d.cfg.ID
		out = append(out, dp)
	}
	return out, nil
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
