package cfos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/gridbox/gridbox/model"
)

// wallboxCtl is one wallbox's entry of ctl: cur in mA, ena, wke, phs.
type wallboxCtl struct {
	Cur *float64 `json:"cur"`
	Ena *bool    `json:"ena"`
	Wke *bool    `json:"wke"`
	Phs *int     `json:"phs"`
}

// control applies a ctl message, wallbox by wallbox. Every field sets a
// value (never a step), and a value already held is not written again, so
// a duplicated publish changes nothing.
func (d *Dialect) control(ctx context.Context, payload []byte) {
	d.count("ctl")
	var req map[string]wallboxCtl
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		d.refused("ctl", fmt.Errorf(`want {"<wallbox>": {"cur": mA, "ena": bool, "wke": bool, "phs": 1|3}, …}: %w`, err))
		return
	}
	ids := make([]string, 0, len(req))
	for id := range req {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := d.controlOne(ctx, id, req[id]); err != nil {
			d.refused("ctl", fmt.Errorf("wallbox %s: %w", model.Short(id), err))
		}
	}
}

// refused counts and logs a request that was not (fully) executed.
func (d *Dialect) refused(what string, err error) {
	d.count("refused")
	d.bus.CountRejected()
	d.logLine(slogWarn, what+" refused", "err", err)
}

// controlOne applies one wallbox's fields: cur caps the charger through
// load management (<charger>_current_limit) when it manages the charger,
// else it is the charger's max_current; ena is the charger's enabled, phs
// its phases.
func (d *Dialect) controlOne(ctx context.Context, id string, c wallboxCtl) error {
	dev, err := d.ids.charger(id)
	if err != nil {
		return err
	}
	if _, ok := d.bus.Device(dev); !ok {
		return fmt.Errorf("no charger device %s", dev)
	}
	var errs []error
	if c.Cur != nil {
		errs = append(errs, d.setCurrent(ctx, dev, *c.Cur))
	}
	if c.Ena != nil {
		errs = append(errs, d.set(ctx, dev, "enabled", *c.Ena))
	}
	if c.Phs != nil {
		if *c.Phs != 1 && *c.Phs != 3 {
			errs = append(errs, fmt.Errorf("phs %d: want 1 or 3", *c.Phs))
		} else {
			errs = append(errs, d.set(ctx, dev, "phases", float64(*c.Phs)))
		}
	}
	if c.Wke != nil && *c.Wke {
		d.count("unsupported")
		d.logLine(slogInfo, "wke ignored: gridbox cannot wake a vehicle", "dev_id", id, "device", dev)
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// setCurrent applies cur (mA).
func (d *Dialect) setCurrent(ctx context.Context, dev string, mA float64) error {
	if mA < 0 || math.IsNaN(mA) || math.IsInf(mA, 0) {
		return fmt.Errorf("cur %v: want a current in mA, 0 or more", mA)
	}
	a := mA / 1000
	if d.managed(dev) {
		name := dev + "_current_limit"
		if meta, _, _, _ := d.bus.Datapoint(lm, name); meta.Max != nil {
			a = min(a, *meta.Max) // above the charger's maximum: its maximum
		}
		return d.set(ctx, lm, name, a)
	}
	return d.set(ctx, dev, "max_current", a)
}

// set writes device/name = v unless it holds v already.
func (d *Dialect) set(ctx context.Context, device, name string, v any) error {
	if _, _, _, ok := d.bus.Datapoint(device, name); !ok {
		return fmt.Errorf("%s has no datapoint %s", device, name)
	}
	if d.same(device, name, v) {
		d.count("duplicate")
		return nil
	}
	return d.write(ctx, device, name, v)
}
