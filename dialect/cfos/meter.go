package cfos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/gridbox/gridbox/model"
)

// meterInput is the JSON of set/<id>: the charging manager's "HTTP Input"
// meter, currents in mA per phase.
type meterInput struct {
	Model    *string   `json:"model"`
	ImportWh *float64  `json:"import_wh"`
	ExportWh *float64  `json:"export_wh"`
	PowerW   *float64  `json:"power_w"`
	Voltage  []float64 `json:"voltage"`
	Current  []float64 `json:"current"`
}

// meter is a device made by set/<id>, owned by Run.
type meter struct {
	id, dev string
	last    time.Time
	stale   bool
}

// DriverName is the driver of the devices set/<id> makes.
const DriverName = "cfos"

func meterPoints() []model.Datapoint {
	num := func(name, unit, desc string) model.Datapoint {
		return model.Datapoint{Name: name, Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric, Unit: unit, Description: desc}}
	}
	pts := []model.Datapoint{
		{Name: "model", Meta: model.Meta{Kind: model.Sensor, Format: model.GenericText, Description: "model named in the meter input"}},
		num("ac_power", "W", "power_w of the meter input (import positive)"),
		num("energy_import", "Wh", "import_wh of the meter input"),
		num("energy_export", "Wh", "export_wh of the meter input"),
	}
	for p := 1; p <= 3; p++ {
		pts = append(pts, num(fmt.Sprintf("current_l%d", p), "A", fmt.Sprintf("current[%d] of the meter input (mA) in A", p-1)),
			num(fmt.Sprintf("voltage_l%d", p), "V", fmt.Sprintf("voltage[%d] of the meter input", p-1)))
	}
	return pts
}

// decodeMeter parses and checks a meter input.
func decodeMeter(payload []byte) (meterInput, error) {
	var in meterInput
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&in); err != nil {
		return in, fmt.Errorf("not a JSON object with import_wh, export_wh, power_w, voltage[3], current[3] (mA): %w", err)
	}
	if dec.More() {
		return in, fmt.Errorf("more than one JSON value")
	}
	if len(in.Voltage) > 3 || len(in.Current) > 3 {
		return in, fmt.Errorf("voltage and current have one value per phase (at most 3), got %d and %d", len(in.Voltage), len(in.Current))
	}
	if in.Model == nil && in.ImportWh == nil && in.ExportWh == nil && in.PowerW == nil && in.Voltage == nil && in.Current == nil {
		return in, fmt.Errorf("none of model, import_wh, export_wh, power_w, voltage, current")
	}
	return in, nil
}

// values are the datapoint values of an input at time now (ms).
func (in meterInput) values(dev string, now int64) []model.Value {
	var out []model.Value
	add := func(name string, v any) {
		out = append(out, model.Value{Device: dev, Name: name, Value: v, Time: now, Quality: model.Good})
	}
	if in.Model != nil {
		add("model", *in.Model)
	}
	for name, p := range map[string]*float64{"ac_power": in.PowerW, "energy_import": in.ImportWh, "energy_export": in.ExportWh} {
		if p != nil {
			add(name, *p)
		}
	}
	for i, a := range in.Current {
		add(fmt.Sprintf("current_l%d", i+1), math.Round(a)/1000)
	}
	for i, v := range in.Voltage {
		add(fmt.Sprintf("voltage_l%d", i+1), v)
	}
	return out
}

// meterInput handles set/<id>: the meter's device is made on first use,
// its values go on the bus.
func (d *Dialect) meterInput(id string, payload []byte) {
	dev, err := d.ids.meter(id)
	if err == nil && d.meters[dev] == nil && len(d.meters) >= d.cfg.MaxMeters {
		err = fmt.Errorf("already %d meter inputs (max_meters)", d.cfg.MaxMeters)
	}
	var in meterInput
	if err == nil {
		in, err = decodeMeter(payload)
	}
	if err == nil {
		err = d.ensureMeter(id, dev)
	}
	if err != nil {
		d.count("malformed")
		d.logLine(slogWarn, "meter input refused", "topic", d.root+"/set/"+id, "err", err)
		return
	}
	now := time.Now()
	m := d.meters[dev]
	m.last = now
	if m.stale {
		m.stale = false
		d.logLine(slogInfo, "meter input back", "device", dev)
	}
	d.bus.SetState(model.DeviceState{Device: dev, Driver: DriverName, Online: true, LastSeen: now.UnixMilli()}, 0, 0)
	d.bus.Publish(in.values(dev, now.UnixMilli())...)
	d.count("meter_input")
}

// ensureMeter registers the meter's device on first use; a device of
// another driver with that id is refused.
func (d *Dialect) ensureMeter(id, dev string) error {
	if d.meters[dev] != nil {
		return nil
	}
	if st, ok := d.bus.Device(dev); ok {
		return fmt.Errorf("device %s exists (driver %q); meter inputs make devices of their own", dev, st.Driver)
	}
	st := model.DeviceState{Device: dev, Driver: DriverName, Online: true, LastSeen: model.NowMs()}
	if err := d.bus.AddDevice(st, meterPoints(), nil, 0); err != nil {
		return fmt.Errorf("add device %s: %w", dev, err)
	}
	d.meters[dev] = &meter{id: id, dev: dev}
	d.logLine(slogInfo, "meter input device added", "meter", id, "device", dev)
	return nil
}

// staleMeters marks meters without input for meter_timeout stale.
func (d *Dialect) staleMeters(now time.Time) {
	for _, m := range d.meters {
		if m.stale || now.Sub(m.last) < d.cfg.MeterTimeout.D() {
			continue
		}
		m.stale = true
		d.bus.SetState(model.DeviceState{Device: m.dev, Driver: DriverName, Online: false, LastSeen: m.last.UnixMilli(),
			Error: fmt.Sprintf("no set/%s for %s", m.id, d.cfg.MeterTimeout.D())}, 0, 0)
		d.bus.MarkStale(m.dev, now.UnixMilli())
		d.count("meter_stale")
		d.logLine(slogWarn, "meter input stale", "device", m.dev, "timeout", d.cfg.MeterTimeout.D().String())
	}
}

// forgetMeters removes the meters' devices at the end of Run.
func (d *Dialect) forgetMeters(_ context.Context) {
	for dev := range d.meters {
		_ = d.bus.RemoveDevice(dev)
	}
}
