package sunspec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/model"
)

// Device is one configured SunSpec device: one URL, one or more unit ids,
// one or more logical devices. It implements driver.Device and, for its
// first logical device, driver.Writer.
type Device struct {
	ts   driver.Stamps // value timestamps, strictly later poll after poll
	cfg  *Config
	conn *conn
	cat  driver.Catalog
	log  *slog.Logger
	m    devMetrics

	mu         sync.Mutex // held for a whole discovery, poll or write
	layouts    []*Layout
	plans      [][]window
	im         map[uint8]image
	gen        uint64 // connection opening the layout was checked on
	logical    []*logical
	first      *logical            // the datapoints the catalog has for the configured id
	registered map[string]*logical // further logical devices this device added to the catalog
	stale      bool                // check and rediscover before the next poll
	reads      int                 // reads of the last discovery
	skipped    error               // units without a chain at the last discovery
	discovered time.Time           // when the last discovery ended
	down       bool                // the last cycle failed (transitions are logged once)
}

func newDevice(cfg *Config, c *conn, cat driver.Catalog, log *slog.Logger) *Device {
	return &Device{cfg: cfg, conn: c, cat: cat, log: log, registered: map[string]*logical{}}
}

// Datapoints is empty: a SunSpec device's datapoints are known after
// discovery and are added through the catalog.
func (d *Device) Datapoints() []model.Datapoint { return nil }

// Run discovers and polls until ctx is done.
func (d *Device) Run(ctx context.Context, out driver.Sink) error {
	t := time.NewTicker(d.cfg.Interval.D())
	defer t.Stop()
	defer d.conn.close()
	for {
		d.cycle(ctx, out)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// retrySkipped is how often a discovery retries units that had no chain.
const retrySkipped = time.Minute

// errLayout means the chain is not where discovery found it.
var errLayout = errors.New("model chain changed")

// cycle runs one poll, discovering first when needed; a poll that finds
// the chain moved or the connection reopened is followed by a discovery
// and a second poll.
func (d *Device) cycle(ctx context.Context, out driver.Sink) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if d.skipped != nil && time.Since(d.discovered) > retrySkipped {
			d.stale = true
		}
		if d.layouts == nil || d.stale {
			if err := d.discover(ctx); err != nil {
				d.m.error("discovery")
				d.offline(ctx, out, fmt.Errorf("discovery: %w", err))
				return
			}
			d.sync()
		}
		vals, state, err := d.poll(ctx)
		if errors.Is(err, errLayout) && attempt == 0 {
			d.log.Info("sunspec chain check failed, rediscovering", "err", err)
			d.m.error("layout")
			d.stale = true
			continue
		}
		if err != nil {
			d.stale = true
			d.offline(ctx, out, err)
			return
		}
		if d.down {
			d.log.Info("sunspec device online", "url", d.conn.url)
		}
		d.down = false
		out.Publish(vals...)
		for _, st := range state {
			errs := uint64(0)
			if st.Error != "" {
				errs = 1
			}
			out.SetState(st, 1, errs)
		}
		return
	}
}

// offline marks every logical device stale and offline.
func (d *Device) offline(ctx context.Context, out driver.Sink, err error) {
	if ctx.Err() != nil {
		return
	}
	d.ts.Begin()
	now := d.ts.Now()
	for _, id := range d.ids() {
		out.MarkStale(id, now)
		out.SetState(model.DeviceState{Device: id, Driver: "sunspec", Online: false, Error: err.Error()}, 1, 1)
	}
	if !d.down {
		d.log.Warn("sunspec device offline", "url", d.conn.url, "err", err)
	}
	d.down = true
}

// ids are the configured id and the logical devices added to the catalog.
func (d *Device) ids() []string {
	ids := []string{d.cfg.ID}
	for id := range d.registered {
		ids = append(ids, id)
	}
	slices.Sort(ids[1:])
	return ids
}

// reader returns a reader of unit that retries I/O errors and notes
// connection reopenings.
func (d *Device) reader(unit uint8) reader {
	return func(ctx context.Context, addr, n uint16) ([]uint16, error) {
		regs, gen, err := d.readRetry(ctx, unit, addr, n)
		if err == nil && gen != d.gen {
			d.gen = gen
			if d.layouts != nil && !d.stale {
				return nil, fmt.Errorf("%w: connection %s reopened", errLayout, d.conn.url)
			}
		}
		return regs, err
	}
}

// readRetry reads with the configured retries: an I/O error or timeout is
// retried after the backoff (doubling, capped at the interval); an
// exception is an answer and is not.
func (d *Device) readRetry(ctx context.Context, unit uint8, addr, n uint16) ([]uint16, uint64, error) {
	wait := d.cfg.Backoff.D()
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout.D())
		regs, gen, err := d.conn.read(rctx, unit, d.m, addr, n)
		cancel()
		if err == nil || isException(err) || attempt >= d.cfg.Retries || ctx.Err() != nil {
			return regs, gen, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, gen, err
		case <-t.C:
		}
		wait = min(2*wait, d.cfg.Interval.D())
	}
}

// bases are the marker addresses to try for unit: the configured base, or
// the one found before followed by the usual ones.
func (d *Device) bases(unit uint8) []uint16 {
	if d.cfg.Base != nil {
		return []uint16{uint16(*d.cfg.Base)}
	}
	all := DefaultBases()
	for _, l := range d.layouts {
		if l.Unit == unit {
			all = append([]uint16{l.Base}, slices.DeleteFunc(all, func(b uint16) bool { return b == l.Base })...)
		}
	}
	return all
}

// discover walks the chain of every unit and rebuilds the logical devices.
func (d *Device) discover(ctx context.Context) error {
	d.m.discovery()
	d.gen = 0
	reads := 0
	var layouts []*Layout
	var skipped []error
	ims := map[uint8]image{}
	for _, u := range d.cfg.unitIDs() {
		rd := d.reader(u)
		counted := func(ctx context.Context, addr, n uint16) ([]uint16, error) {
			reads++
			return rd(ctx, addr, n)
		}
		l, im, err := discover(ctx, counted, u, d.bases(u))
		if err == nil {
			err = fillCommon(ctx, counted, l, im)
		}
		if err != nil && (errors.Is(err, errNoMarker) || isException(err)) {
			// The unit answers but holds no SunSpec chain (a meter that is
			// not installed): the other units are read, this one is retried.
			skipped = append(skipped, fmt.Errorf("unit %d skipped: %w", u, err))
			continue
		}
		if err != nil {
			return fmt.Errorf("unit %d: %w", u, err)
		}
		d.log.Info("sunspec chain discovered", "url", d.conn.url, "layout", l.String())
		layouts = append(layouts, l)
		ims[u] = im
	}
	if len(layouts) == 0 {
		return errors.Join(skipped...)
	}
	d.layouts, d.im, d.stale, d.reads = layouts, ims, false, reads
	d.skipped, d.discovered = errors.Join(skipped...), time.Now()
	d.plans = make([][]window, len(layouts))
	for i, l := range layouts {
		d.plans[i] = l.plan()
	}
	d.logical = buildLogical(d.cfg.ID, layouts)
	return nil
}

// fillCommon reads the common blocks discovery's reads did not cover:
// they are read once per discovery, not every poll.
func fillCommon(ctx context.Context, rd reader, l *Layout, im image) error {
	for _, in := range l.Models {
		if in.ID != 1 {
			continue
		}
		if _, ok := im.get(in.Addr, 2+in.Len); ok {
			continue
		}
		regs, err := rd(ctx, in.Addr, min(2+in.Len, maxRead))
		if err != nil {
			return fmt.Errorf("common block at %d: %w", in.Addr, err)
		}
		im.put(in.Addr, regs)
	}
	return nil
}

// ReadsPerPoll is the number of Modbus reads one poll takes (0 before discovery).
func (d *Device) ReadsPerPoll() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, p := range d.plans {
		n += len(p)
	}
	return n
}

// DiscoveryReads is the number of Modbus reads of the last discovery.
func (d *Device) DiscoveryReads() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reads
}

// poll reads every planned window, checks the model headers and decodes
// every datapoint.
func (d *Device) poll(ctx context.Context) ([]model.Value, []model.DeviceState, error) {
	for i, l := range d.layouts {
		rd := d.reader(l.Unit)
		for _, w := range d.plans[i] {
			regs, err := rd(ctx, w.Start, w.N)
			if err != nil {
				return nil, nil, err
			}
			d.im[l.Unit].put(w.Start, regs)
		}
		if err := checkHeaders(l, d.im[l.Unit]); err != nil {
			return nil, nil, err
		}
	}
	d.ts.Begin()
	now := d.ts.Now()
	var vals []model.Value
	var states []model.DeviceState
	for _, lg := range d.logical {
		st := model.DeviceState{Device: lg.id, Driver: "sunspec", Online: true, LastSeen: now}
		var errs []error
		for _, dp := range lg.points {
			v, err := dp.value(d.im[lg.unit])
			q := model.Good
			if err != nil {
				d.m.error("decode")
				errs = append(errs, err)
				q = model.Bad
			}
			vals = append(vals, model.Value{Device: lg.id, Name: dp.Name, Value: v, Time: now, Quality: q})
		}
		if lg == d.logical[0] && d.skipped != nil {
			errs = append(errs, d.skipped)
		}
		if len(errs) > 0 {
			st.Error = errors.Join(errs...).Error()
		}
		states = append(states, st)
	}
	return vals, states, nil
}

// checkHeaders reports a model whose header no longer holds its id and length.
func checkHeaders(l *Layout, im image) error {
	for _, in := range l.Models {
		if in.def == nil || in.ID == 1 {
			continue
		}
		hdr, ok := im.get(in.Addr, 2)
		if ok && (hdr[0] != in.ID || hdr[1] != in.Len) {
			return fmt.Errorf("%w: unit %d address %d holds model %d length %d, was %d length %d",
				errLayout, l.Unit, in.Addr, hdr[0], hdr[1], in.ID, in.Len)
		}
	}
	return nil
}

// sync tells the catalog about the logical devices: the first one's
// datapoints belong to the configured device, the others are devices of
// their own, replaced when their datapoints changed.
func (d *Device) sync() {
	if d.cat == nil {
		return
	}
	var first *logical
	if len(d.logical) > 0 {
		first = d.logical[0]
	}
	d.syncFirst(first)
	keep := map[string]bool{}
	for _, lg := range d.logical[min(1, len(d.logical)):] {
		keep[lg.id] = true
		old, ok := d.registered[lg.id]
		if ok && samePoints(old, lg) {
			d.registered[lg.id] = lg
			continue
		}
		if ok {
			d.catalogErr(d.cat.RemoveDevice(lg.id), lg.id)
		}
		st := model.DeviceState{Device: lg.id, Driver: "sunspec"}
		if err := d.cat.AddDevice(st, lg.datapoints(), logicalWriter{d, lg.id}, d.cfg.MinWriteGap.D().Milliseconds()); err != nil {
			d.catalogErr(err, lg.id)
			delete(d.registered, lg.id)
			continue
		}
		d.registered[lg.id] = lg
	}
	for id := range d.registered {
		if !keep[id] {
			d.catalogErr(d.cat.RemoveDevice(id), id)
			delete(d.registered, id)
		}
	}
}

// syncFirst adds and removes the configured device's datapoints.
func (d *Device) syncFirst(lg *logical) {
	old := d.first
	have := map[string]bool{}
	if old != nil {
		for _, p := range old.points {
			have[p.Name] = true
		}
	}
	var add []model.Datapoint
	want := map[string]bool{}
	if lg != nil {
		for _, p := range lg.points {
			want[p.Name] = true
			if !have[p.Name] {
				add = append(add, p.Datapoint)
			}
		}
	}
	var gone []string
	for n := range have {
		if !want[n] {
			gone = append(gone, n)
		}
	}
	if len(gone) > 0 {
		d.catalogErr(d.cat.RemoveDatapoints(d.cfg.ID, gone...), d.cfg.ID)
	}
	if len(add) > 0 {
		d.catalogErr(d.cat.AddDatapoints(d.cfg.ID, add...), d.cfg.ID)
	}
	d.first = lg
}

func (d *Device) catalogErr(err error, id string) {
	if err != nil {
		d.log.Error("sunspec catalog update failed", "logical_device", id, "err", err)
	}
}
