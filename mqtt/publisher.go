// Package mqtt is the MQTT sink and write channel of gridbox: it publishes
// every bus value, device state and datapoint's metadata on the native
// topics (docs/mqtt.md) and applies writes received on <prefix>/<device>/<name>/set.
// It talks to the embedded broker in-process or to an external broker over
// MQTT 3.1.1 (mqtt://, mqtts://) or MQTT 5 (mqtt5://, mqtts5://).
package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridbox/gridbox/bus"
)

const (
	writeWorkers   = 4                // writes applied concurrently
	writeQueue     = 64               // writes waiting; beyond that answered "busy"
	writeTimeout   = 10 * time.Second // one write, including the read-back
	announceRetry  = time.Second      // wait before repeating a failed (re)connect announcement
	shutdownWithin = 2 * time.Second  // offline state plus clean disconnect
)

// Publisher publishes the bus on MQTT and applies writes from /set topics.
type Publisher struct {
	bus *bus.Bus
	o   Options
	t   target
	log *slog.Logger
	m   *metrics
	tr  transport

	started   atomic.Bool
	linkUp    atomic.Bool   // set by the transport hooks
	everUp    atomic.Bool   // for counting reconnects
	downAt    atomic.Int64  // when the transport last reported a lost connection (Unix ns)
	failedLog atomic.Bool   // a failed connection attempt was logged in this outage
	upCh      chan struct{} // coalesced "connection is up" signals for Run
	writes    chan setRequest
	busy      chan setRequest
	done      chan struct{} // closed when Run stops: no more writes are queued
	retainLog atomic.Bool   // a retained /set was logged

	// owned by the Run goroutine
	online   bool // connected and announced: values go straight out
	buf      *ring
	sub      *bus.Subscription // Run's, read by flush too (takeWaiting)
	sent     *recent           // values sent lately, for a resend after a lost connection (resend.go)
	badLogs  map[string]bool   // datapoints whose unencodable value was logged
	clearing []string          // retained topics to clear (removed datapoints and devices), oldest first
}

// New validates o and prepares a publisher for b; Run connects. The error
// names what is wrong with the options.
func New(b *bus.Bus, o Options) (*Publisher, error) {
	if b == nil {
		return nil, errors.New("mqtt: bus is nil")
	}
	t, err := parseBroker(o.Broker)
	if err != nil {
		return nil, err
	}
	if o, err = o.withDefaults(); err != nil {
		return nil, err
	}
	switch {
	case t.tls:
		if t.tlsCfg, err = tlsConfig(o.CAFile); err != nil {
			return nil, fmt.Errorf("mqtt: %w", err)
		}
	case o.CAFile != "":
		return nil, fmt.Errorf("mqtt: ca_file is set but broker %s does not use TLS (want mqtts:// or mqtts5://)", t.redacted)
	}
	p := &Publisher{
		bus: b, o: o, t: t, log: o.Log.With("broker", t.redacted),
		upCh: make(chan struct{}, 1), writes: make(chan setRequest, writeQueue),
		busy: make(chan setRequest, writeQueue), done: make(chan struct{}),
		buf: newRing(o.Buffer), sent: newRecent(o.Buffer), badLogs: map[string]bool{},
	}
	offline := will{topic: p.o.Prefix + "/$state", payload: encodeGatewayState(false, "", nil)}
	switch {
	case t.embedded && o.Embedded == nil:
		return nil, errors.New(`broker is "embedded" but no embedded broker was given`)
	case t.embedded:
		if p.tr, err = newInline(o.Embedded.Server()); err != nil {
			return nil, err
		}
	case t.v5:
		p.tr = newV5(t, o.ClientID, offline)
	default:
		p.tr = newV311(t, o.ClientID, offline)
	}
	if p.m, err = newMetrics(o.Metrics); err != nil {
		return nil, err
	}
	return p, nil
}

// Run publishes from sub (created with bus.Options{States: true} to get
// device states) until ctx is done, then publishes the offline state,
// disconnects cleanly and returns. It may be called once.
func (p *Publisher) Run(ctx context.Context, sub *bus.Subscription) error {
	if sub == nil {
		return errors.New("mqtt: subscription is nil")
	}
	if !p.started.CompareAndSwap(false, true) {
		return errors.New("mqtt: Run called twice")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	defer close(p.done)
	for range writeWorkers {
		wg.Go(func() { p.writeWorker(wctx) })
	}
	wg.Go(func() { p.busyWorker(wctx) })
	err := p.tr.start(hooks{up: p.up, down: p.down, failed: p.failed, message: p.onMessage})
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	p.sub = sub
	p.log.Info("mqtt publisher started", "prefix", p.o.Prefix, "client_id", p.o.ClientID)
	p.loop(ctx, sub)
	return p.shutdown()
}

// loop moves values and states from the bus to the broker until ctx is done.
func (p *Publisher) loop(ctx context.Context, sub *bus.Subscription) {
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.upCh:
			if p.online { // the link went down and up again between two values
				p.lost()
			}
			retry = p.announce()
		case <-retry:
			retry = p.announce()
		case v := <-sub.Values:
			p.value(v)
			if retry == nil && !p.online && p.linkUp.Load() {
				retry = time.After(announceRetry) // a send failed, the link stayed up: no up hook will come
			}
		case st := <-sub.States:
			if p.isOnline() {
				p.sendDeviceState(st)
			}
		case e := <-sub.Events:
			p.catalog(e)
		}
	}
}

// shutdown publishes {"online": false} on <prefix>/$state and disconnects.
func (p *Publisher) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownWithin)
	defer cancel()
	if p.linkUp.Load() {
		// Half the time for the offline state: the link may be gone
		// without the transport having noticed yet.
		sctx, cancel := context.WithTimeout(ctx, shutdownWithin/2)
		if err := p.sendCtx(sctx, p.o.Prefix+"/$state", encodeGatewayState(false, "", nil), 1, true); err != nil {
			p.log.Warn("offline state not published", "err", err)
		}
		cancel()
	}
	err := p.tr.stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// The broker did not answer the DISCONNECT in time (it is gone):
		// the connection is closed all the same, and the broker publishes
		// the last will. Not a failure of the publisher.
		p.log.Warn("mqtt disconnect not acknowledged in time; connection closed", "err", err)
		err = nil
	}
	p.linkUp.Store(false)
	p.m.connected.Set(0)
	p.log.Info("mqtt publisher stopped", "buffered_values_lost", p.buf.len())
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	return nil
}

// up is the transport hook for a new connection.
func (p *Publisher) up() {
	p.linkUp.Store(true)
	p.failedLog.Store(false)
	p.m.connected.Set(1)
	if p.everUp.Swap(true) {
		p.m.reconnects.Inc()
	}
	select {
	case p.upCh <- struct{}{}:
	default: // a signal is already pending
	}
}

// down is the transport hook for a lost connection.
func (p *Publisher) down(err error) {
	p.downAt.Store(time.Now().UnixNano())
	p.linkUp.Store(false)
	p.m.connected.Set(0)
	p.log.Warn("mqtt connection lost; buffering values and reconnecting", "err", err)
}

// failed is the transport hook for a failed connection attempt; the first
// of an outage is logged as a warning, the rest at debug level.
func (p *Publisher) failed(err error) {
	if p.failedLog.Swap(true) {
		p.log.Debug("mqtt connection attempt failed", "err", err)
		return
	}
	p.log.Warn("mqtt connection attempt failed; retrying", "err", err)
}

// isOnline reports whether values can go straight out.
func (p *Publisher) isOnline() bool {
	if p.online && !p.linkUp.Load() {
		p.lost()
	}
	return p.online
}

// send publishes one message and counts it.
func (p *Publisher) send(topic string, payload []byte, qos byte, retain bool) error {
	return p.sendCtx(context.Background(), topic, payload, qos, retain)
}

// sendCtx is send that gives up when ctx is done.
func (p *Publisher) sendCtx(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	if err := p.tr.publish(ctx, topic, payload, qos, retain); err != nil {
		return err
	}
	p.m.published.Inc()
	return nil
}
