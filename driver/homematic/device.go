package homematic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/homematic/xmlrpc"
	"github.com/gridbox/gridbox/driver/internal/devstat"
	"github.com/gridbox/gridbox/model"
)

// Device is one CCU interface. It implements driver.Device and bus.Writer.
type Device struct {
	cfg    *Config
	log    *slog.Logger
	cat    driver.Catalog // may be nil (tests): datapoints then stay internal
	client *xmlrpc.Client
	bad    *devstat.Malformed
	rescan chan struct{} // newDevices arrived: read the device list again

	mu        sync.Mutex
	byName    map[string]*param
	byKey     map[string]*param // by address + "/" + key
	sink      driver.Sink
	state     model.DeviceState
	lastEvent time.Time
}

// Datapoints lists the datapoints known so far; the CCU's are added at run time.
func (d *Device) Datapoints() []model.Datapoint {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]model.Datapoint, 0, len(d.byName))
	for _, p := range d.byName {
		dp := p.dp
		dp.Device = d.cfg.ID
		out = append(out, dp)
	}
	slices.SortFunc(out, func(a, b model.Datapoint) int { return cmpString(a.Name, b.Name) })
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Run serves the callback, registers with the CCU and keeps the
// registration alive until ctx is done; then it unregisters.
func (d *Device) Run(ctx context.Context, out driver.Sink) error {
	d.mu.Lock()
	d.sink = out
	d.mu.Unlock()
	srv := &http.Server{
		Handler:           &xmlrpc.Server{Handle: d.handle, MaxBody: d.cfg.MaxBody, Malformed: d.malformedCall},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // a CCU sends small bodies quickly
	}
	ln := d.listen(ctx)
	if ln == nil {
		return nil
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("homematic callback server", "err", err)
		}
	}()
	d.loop(ctx)
	d.unregister()
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		srv.Close()
	}
	<-served
	return nil
}

// listen binds the callback server, retrying until ctx ends (nil then).
func (d *Device) listen(ctx context.Context) net.Listener {
	for {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", d.cfg.listenAddr())
		if err == nil {
			return ln
		}
		d.fail(fmt.Errorf("callback listener %s: %w", d.cfg.listenAddr(), err))
		if !sleep(ctx, d.cfg.Retry.D()) {
			return nil
		}
	}
}

func sleep(ctx context.Context, dt time.Duration) bool {
	t := time.NewTimer(dt)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// loop sets up the registration, then waits for the event stream to go
// quiet (re-init), for newDevices (read the list again) or for ctx.
func (d *Device) loop(ctx context.Context) {
	for {
		if err := d.setup(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			d.fail(err)
			if !sleep(ctx, d.cfg.Retry.D()) {
				return
			}
			continue
		}
		if !d.wait(ctx) {
			return
		}
	}
}

// wait returns true when the setup should run again.
func (d *Device) wait(ctx context.Context) bool {
	limit := d.cfg.ReinitAfter.D()
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-d.rescan:
			d.log.Info("homematic: new devices announced, reading the device list")
			return true
		case <-t.C:
			d.mu.Lock()
			quiet := time.Since(d.lastEvent)
			d.mu.Unlock()
			if quiet >= limit {
				d.log.Warn("homematic: no event, re-init", "quiet", quiet.Round(time.Second))
				return true
			}
			t.Reset(limit - quiet)
		}
	}
}

// setup reads the device list and paramsets, adds new datapoints, calls
// init and publishes the current values.
func (d *Device) setup(ctx context.Context) error {
	channels, err := d.discover(ctx)
	if err != nil {
		return err
	}
	if _, err := d.client.Call(ctx, "init", d.cfg.Callback, d.cfg.interfaceID()); err != nil {
		return d.callErr(err)
	}
	d.mu.Lock()
	d.lastEvent = time.Now() // the stream starts now
	d.state.Online, d.state.Error, d.state.LastSeen = true, "", model.NowMs()
	st, out := d.state, d.sink
	d.mu.Unlock()
	out.SetState(st, 1, 0)
	d.log.Info("homematic: registered", "url", d.cfg.URL, "callback", d.cfg.Callback, "channels", len(channels))
	for _, ch := range channels {
		d.readValues(ctx, ch)
	}
	return nil
}

// callErr counts a malformed answer of the CCU and returns err.
func (d *Device) callErr(err error) error {
	switch {
	case errors.Is(err, xmlrpc.ErrTooLarge):
		d.bad.Add("oversized")
	case errors.Is(err, xmlrpc.ErrMalformed):
		d.bad.Add("xml")
	}
	return err
}

// fail reports the device offline with err and its values stale.
func (d *Device) fail(err error) {
	d.log.Warn("homematic device offline", "url", d.cfg.URL, "err", err)
	d.mu.Lock()
	d.state.Online, d.state.Error = false, err.Error()
	st, out := d.state, d.sink
	d.mu.Unlock()
	if out != nil {
		out.MarkStale(d.cfg.ID, model.NowMs())
		out.SetState(st, 1, 1)
	}
}

// unregister calls init with an empty interface id, best effort; a busy
// CCU (or machine) gets a few seconds.
func (d *Device) unregister() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := d.client.Call(ctx, "init", d.cfg.Callback, ""); err != nil {
		d.log.Warn("homematic: unregister failed; the CCU drops the registration by itself later", "err", err)
	}
}

// Write sets a parameter with setValue in the paramset's type.
func (d *Device) Write(ctx context.Context, name string, v any) (any, error) {
	d.mu.Lock()
	p, ok := d.byName[name]
	d.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("homematic: unknown datapoint %q", name)
	}
	val, err := p.toCCU(v)
	if err != nil {
		return nil, err
	}
	if _, err := d.client.Call(ctx, "setValue", p.address, p.key, val); err != nil {
		return nil, d.callErr(fmt.Errorf("setValue %s %s: %w", p.address, p.key, err))
	}
	return p.fromCCU(val)
}
