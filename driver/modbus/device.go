package modbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
	"github.com/simonvetter/modbus"
)

// Device is one Modbus device (a unit id behind a URL). It implements
// driver.Device and bus.Writer.
type Device struct {
	id     string
	cfg    *Config
	unit   uint8
	conn   *Conn
	fields []*field
	byName map[string]*field
	log    *slog.Logger
	m      devMetrics
	gate   *connectGate // connect_delay (connect.go)

	groups  []*group       // detectable components (detect.go); used by Run only
	catalog driver.Catalog // where detected datapoints are added; may be nil

	ts driver.Stamps // value timestamps, strictly later poll after poll (driver.Stamps)

	planMu sync.Mutex
	plan   []read // remembered, including splits after exceptions

	mu    sync.Mutex
	sink  driver.Sink       // the sink given to Run, for read-back values
	bad   map[string]string // last decode problem logged, per datapoint
	down  bool              // last poll failed (log transitions once)
	probe prober            // when an offline device is tried again (offline.go)

	cache regCache // the registers of the last successful reads, for the Modbus proxy (proxy.go)
}

// field returns the field of a datapoint name.
func (d *Device) field(name string) (*field, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, ok := d.byName[name]
	return f, ok
}

func newDevice(cfg *Config, fields []*field, conn *Conn, unit uint8, log *slog.Logger) *Device {
	d := &Device{
		id: cfg.ID, cfg: cfg, unit: unit, conn: conn, fields: fields,
		byName: make(map[string]*field, len(fields)), log: log, bad: map[string]string{},
	}
	for _, f := range fields {
		d.byName[f.reg.Name] = f
	}
	d.plan = makePlan(fields, cfg.MaxGap, cfg.MaxRegisters)
	return d
}

// Datapoints lists the device's datapoints (detected components' only
// once detected).
func (d *Device) Datapoints() []model.Datapoint {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]model.Datapoint, 0, len(d.fields))
	for _, f := range d.fields {
		p := f.datapoint()
		p.Device = d.id
		out = append(out, p)
	}
	return out
}

// Run polls the device every interval until ctx is done. A poll that fails
// marks the values stale and the device offline; Run keeps retrying.
func (d *Device) Run(ctx context.Context, out driver.Sink) error {
	d.mu.Lock()
	d.sink = out
	d.mu.Unlock()
	d.conn.enter()
	defer d.conn.leave()
	d.gate.reset()
	t := time.NewTicker(d.cfg.Interval.D())
	defer t.Stop()
	for {
		if d.probe.due(time.Now()) {
			d.poll(ctx, out)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C: // a tick missed while polling is dropped, not queued
		}
	}
}

// poll reads every field once and reports values and state.
func (d *Device) poll(ctx context.Context, out driver.Sink) {
	start := time.Now()
	d.ts.Begin()
	d.detect(ctx)
	vals, fieldErr, err := d.readAll(ctx)
	if ctx.Err() != nil {
		return
	}
	d.m.observePoll(time.Since(start).Seconds())
	now := d.ts.Now()
	if err != nil {
		out.MarkStale(d.id, now)
		out.SetState(model.DeviceState{Device: d.id, Online: false, Error: err.Error()}, 1, 1)
		d.transition(true, err)
		d.probe.failed(time.Now(), d.cfg)
	} else {
		out.Publish(vals...)
		st := model.DeviceState{Device: d.id, Online: true, LastSeen: now}
		var errs uint64
		if fieldErr != nil {
			st.Error, errs = fieldErr.Error(), 1
		}
		out.SetState(st, 1, errs)
		d.transition(false, nil)
		d.probe.ok()
	}
	if d.cfg.Disconnect {
		d.gate.reset()
		if err := d.conn.Disconnect(ctx); err != nil {
			d.log.Debug("modbus disconnect", "url", d.conn.Key(), "err", err)
		}
	}
}

// transition logs once when the device goes offline or comes back.
func (d *Device) transition(down bool, err error) {
	d.mu.Lock()
	changed := d.down != down
	d.down = down
	d.mu.Unlock()
	switch {
	case changed && down:
		d.log.Warn("modbus device offline", "url", d.conn.Key(), "unit", d.unit, "err", err)
	case changed:
		d.log.Info("modbus device online", "url", d.conn.Key(), "unit", d.unit)
	}
}

// readAll runs the plan. A read answered with an exception is split into
// halves (remembered for the next polls); a single field that still fails
// gets quality bad and its error goes into fieldErr. err is set when the
// device cannot be reached.
func (d *Device) readAll(ctx context.Context) (vals []model.Value, fieldErr, err error) {
	d.planMu.Lock()
	defer d.planMu.Unlock()
	queue := append([]read(nil), d.plan...)
	next := make([]read, 0, len(queue))
	var ferrs []error
	for i := 0; i < len(queue); i++ {
		r := queue[i]
		regs, bits, rerr := d.readOne(ctx, r)
		switch {
		case rerr == nil:
			d.cache.put(r.table, r.start, regs, bits)
			vals = append(vals, d.decodeRead(r, regs, bits)...)
		case splittable(rerr):
			if a, b, ok := split(r); ok {
				d.log.Info("modbus read split after exception", "read", r.String(), "into", a.String()+" + "+b.String(), "err", rerr)
				queue = append(queue[:i+1], append([]read{a, b}, queue[i+1:]...)...)
				continue
			}
			f := r.fields[0]
			vals = append(vals, d.value(f, nil, model.Bad, d.ts.Now()))
			ferrs = append(ferrs, fmt.Errorf("%s: %w", f.reg.Name, rerr))
		default:
			d.plan = append(next, queue[i:]...)
			return nil, nil, rerr
		}
		next = append(next, r)
	}
	d.plan = next
	return vals, errors.Join(ferrs...), nil
}

// readOne performs one read of the plan, with retries.
func (d *Device) readOne(ctx context.Context, r read) (regs []uint16, bits []bool, err error) {
	unit := r.fields[0].unitFor(d.unit)
	err = d.request(ctx, unit, func(c *modbus.ModbusClient) error {
		var err error
		regs, bits, err = readTable(c, r.table, r.start, r.count)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("modbus %s unit %d: read %s: %w", d.conn.Key(), unit, r, err)
	}
	return regs, bits, nil
}

func readTable(c *modbus.ModbusClient, t table, start, count uint16) ([]uint16, []bool, error) {
	switch t {
	case coil:
		b, err := c.ReadCoils(start, count)
		return nil, b, err
	case discrete:
		b, err := c.ReadDiscreteInputs(start, count)
		return nil, b, err
	case input:
		r, err := c.ReadRegisters(start, count, modbus.INPUT_REGISTER)
		return r, nil, err
	}
	r, err := c.ReadRegisters(start, count, modbus.HOLDING_REGISTER)
	return r, nil, err
}

// request runs fn on the connection to unit with the device's timeout,
// retrying I/O errors and "server busy" answers (exception 6) with backoff.
// Other exceptions are answers and are not retried; nor is anything while
// the device is offline, nor a timeout on a serial bus (rtu, rtuovertcp): a
// silent unit costs the bus one timeout per poll.
func (d *Device) request(ctx context.Context, unit uint8, fn func(*modbus.ModbusClient) error) error {
	for attempt := 0; ; attempt++ {
		err := d.once(ctx, unit, fn)
		retry := !isException(err) || errors.Is(err, modbus.ErrServerDeviceBusy)
		if err == nil || !retry || attempt >= d.cfg.Retries || ctx.Err() != nil || !d.retryable(err) {
			return err
		}
		t := time.NewTimer(d.cfg.backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// once runs one request. The request itself is bounded by the device's
// timeout (the client's I/O deadline); waiting for the shared connection by
// the interval plus the timeout, so that a unit behind a silent one on the
// same bus waits for that one's timeout instead of failing itself.
func (d *Device) once(ctx context.Context, unit uint8, fn func(*modbus.ModbusClient) error) error {
	wctx, cancel := context.WithTimeout(ctx, d.cfg.Interval.D()+d.cfg.Timeout.D())
	defer cancel()
	d.m.request()
	err := d.conn.Do(wctx, unit, d.gate.wrap(ctx, fn))
	d.gate.after(err)
	if err != nil {
		d.m.error(errorKind(err))
	}
	return err
}

// retryable reports whether a failed request is worth another attempt in
// the same poll.
func (d *Device) retryable(err error) bool {
	d.mu.Lock()
	down := d.down
	d.mu.Unlock()
	if down {
		return false
	}
	return !(d.conn.t.serialFramed() && isTimeout(err))
}

// errorKind classifies an error for the errors metric.
func errorKind(err error) string {
	switch {
	case isException(err):
		return "exception"
	case errors.Is(err, errBusy):
		return "busy"
	case isTimeout(err):
		return "timeout"
	case errors.Is(err, modbus.ErrBadCRC):
		return "crc"
	case isFrameError(err), errors.Is(err, modbus.ErrBadTransactionId):
		return "frame"
	}
	return "io"
}

// splittable reports whether an exception means "part of this range is not
// readable", so that smaller reads may succeed.
func splittable(err error) bool {
	return errors.Is(err, modbus.ErrIllegalDataAddress) || errors.Is(err, modbus.ErrIllegalFunction) ||
		errors.Is(err, modbus.ErrIllegalDataValue) || errors.Is(err, modbus.ErrServerDeviceFailure)
}

// decodeRead turns one read's response into values, received now.
func (d *Device) decodeRead(r read, regs []uint16, bits []bool) []model.Value {
	vals := make([]model.Value, 0, len(r.fields))
	now := d.ts.Now()
	for _, f := range r.fields {
		var v any
		var err error
		if r.table.isBits() {
			v = f.decodeBit(bits[int(f.reg.Address)-int(r.start)])
		} else {
			v, err = f.decode(r.slice(regs, f))
		}
		if err != nil {
			d.decodeError(f, err)
			vals = append(vals, d.value(f, nil, model.Bad, now))
			continue
		}
		d.decodeOK(f)
		vals = append(vals, d.value(f, v, model.Good, now))
	}
	return vals
}

func (d *Device) value(f *field, v any, q model.Quality, at int64) model.Value {
	return model.Value{Device: d.id, Name: f.reg.Name, Value: v, Time: at, Quality: q}
}

// decodeError counts a decode error and logs it once per datapoint and reason.
func (d *Device) decodeError(f *field, err error) {
	d.m.error("decode")
	d.mu.Lock()
	seen := d.bad[f.reg.Name] == err.Error()
	d.bad[f.reg.Name] = err.Error()
	d.mu.Unlock()
	if !seen {
		d.log.Warn("modbus decode error", "datapoint", f.reg.Name, "table", f.table.String(), "address", f.reg.Address, "type", f.typ.name, "err", err)
	}
}

func (d *Device) decodeOK(f *field) {
	d.mu.Lock()
	delete(d.bad, f.reg.Name)
	d.mu.Unlock()
}
