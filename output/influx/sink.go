// Package influx is the `outputs` sink kind with its first output type,
// InfluxDB (1.x databases and 2.x buckets): values are written as line
// protocol over HTTP in batches, gzip-compressed, retried with exponential
// backoff, and kept in a bounded disk buffer while the server is
// unreachable, so an outage loses nothing (docs/output-influx.md).
package influx

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
)

// Kind is the `outputs` sink kind: a list, one instance per item; no
// section runs none.
func Kind() sink.Kind {
	return sink.Kind{
		Name: "outputs", List: true,
		NewConfig: func() sink.Config { return &Output{} },
		New: func(ctx context.Context, c sink.Config, env sink.Env) (sink.Sink, error) {
			o, ok := c.(*Output)
			if !ok || o.Influx == nil {
				return nil, fmt.Errorf("outputs: config is %T without influx", c)
			}
			return Open(o.Influx, env)
		},
	}
}

// Sink is one InfluxDB output.
type Sink struct {
	s      settings
	env    sink.Env
	log    *slog.Logger
	met    *metrics
	q      *queue
	client *client
	enc    encoder
}

// Open opens the disk buffer of an output; the server is not contacted
// before Run (it may well be down: that is what the buffer is for).
func Open(c *Config, env sink.Env) (*Sink, error) {
	if env.Log == nil {
		env.Log = slog.New(slog.DiscardHandler)
	}
	if env.Name == "" {
		env.Name = "outputs"
	}
	s := c.settings(env.Name)
	met, err := newMetrics(env.Metrics)
	if err != nil {
		return nil, err
	}
	q, err := openQueue(s.bufferDir, s.maxBuffer, met, env.Log)
	if err != nil {
		return nil, fmt.Errorf("buffer_dir %s: %w", s.bufferDir, err)
	}
	o := &Sink{s: s, env: env, log: env.Log, met: met, q: q, client: newClient(s), enc: newEncoder(s.measurement, s.precision)}
	batches, values, bytes := q.pending()
	env.Log.Info("influx output opened", "target", s.target(), "buffer_dir", s.bufferDir)
	if batches > 0 {
		env.Log.Info("disk buffer holds batches from an earlier run; replaying them first", "batches", batches, "values", values, "bytes", bytes)
	}
	return o, nil
}

// Close releases the HTTP connections. What was not acknowledged is in the
// disk buffer by then (Run moves it there when it returns).
func (o *Sink) Close() error {
	o.client.http.CloseIdleConnections()
	return nil
}

type pointKey struct{ device, name string }

// Run turns values into line protocol batches of at most batch_size lines,
// none older than flush_interval, and hands them to the sender, which writes
// them in order. Run never blocks the bus on the server: batches that cannot
// be sent wait on disk. When ctx is done Run batches what is queued at that
// moment, lets the sender try the batches in memory once more (each attempt
// bounded by timeout), moves the rest to the disk buffer and returns nil.
func (o *Sink) Run(ctx context.Context, sub *bus.Subscription) error {
	stop, done := make(chan struct{}), make(chan struct{})
	go o.send(stop, done)
	r := &runner{o: o, units: map[pointKey]string{}, buf: make([]byte, 0, 64*o.s.batchSize)}
	r.timer = time.NewTimer(o.s.flush)
	r.timer.Stop()
	defer r.timer.Stop()
	for {
		select {
		case <-ctx.Done():
			for n := len(sub.Values); n > 0; n-- {
				r.add(<-sub.Values)
			}
			r.flush()
			close(stop)
			<-done
			o.q.close()
			return nil
		case v := <-sub.Values:
			r.add(v)
		case <-r.timer.C:
			r.flush()
		case e := <-sub.Events:
			switch e.Type {
			case bus.DatapointAdded, bus.DatapointRemoved:
				delete(r.units, pointKey{e.Point.Device, e.Point.Name})
			case bus.DeviceRemoved:
				clear(r.units)
			}
		case <-sub.States:
		}
	}
}

// runner is the state of one Run loop; only that loop touches it.
type runner struct {
	o     *Sink
	units map[pointKey]string
	buf   []byte
	lines int
	timer *time.Timer
	zbuf  bytes.Buffer
	zw    *gzip.Writer
}

func (r *runner) add(v model.Value) {
	var why string
	r.buf, why = r.o.enc.append(r.buf, v, r.unit(v))
	if why != "" {
		r.o.met.drop(why, 1)
		return
	}
	r.lines++
	if r.lines == 1 {
		r.timer.Reset(r.o.s.flush)
	}
	if r.lines >= r.o.s.batchSize {
		r.flush()
	}
}

// unit returns the datapoint's unit from the bus catalog, cached until a
// catalog event touches the datapoint.
func (r *runner) unit(v model.Value) string {
	k := pointKey{v.Device, v.Name}
	u, ok := r.units[k]
	if !ok && r.o.env.Bus != nil {
		dp, _, _, _ := r.o.env.Bus.Datapoint(v.Device, v.Name)
		u = dp.Unit
		r.units[k] = u
	}
	return u
}

// flush hands the lines gathered so far to the sender as one batch.
func (r *runner) flush() {
	r.timer.Stop()
	if r.lines == 0 {
		return
	}
	b := &batch{lines: r.lines, precision: r.o.s.precision, gz: r.o.s.gzip}
	if b.gz {
		r.zbuf.Reset()
		if r.zw == nil {
			r.zw, _ = gzip.NewWriterLevel(&r.zbuf, gzip.BestSpeed)
		} else {
			r.zw.Reset(&r.zbuf)
		}
		r.zw.Write(r.buf)
		r.zw.Close()
		b.body = bytes.Clone(r.zbuf.Bytes())
	} else {
		b.body = bytes.Clone(r.buf)
	}
	r.buf, r.lines = r.buf[:0], 0
	r.o.q.push(b)
}

// send writes the oldest batch until the queue is empty, then waits for
// more. A failed write moves every batch to the disk buffer and is retried
// after a backoff that doubles up to max_backoff. After stop it only tries
// the batches still in memory, and returns at the first failure.
func (o *Sink) send(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	backoff := o.s.backoff
	failing, failedAt, attempts := false, time.Time{}, 0
	for {
		b := o.q.head(stopped())
		if b == nil {
			if stopped() {
				return
			}
			select {
			case <-o.q.wake:
			case <-stop:
			}
			continue
		}
		err := o.write(b)
		var we *writeError
		switch {
		case err == nil:
			o.q.ack(b)
			o.met.written.Add(float64(b.lines))
		case errors.As(err, &we) && we.permanent:
			o.q.ack(b)
			n := b.lines
			if we.dropped >= 0 && we.dropped <= b.lines {
				n = we.dropped
			}
			o.met.written.Add(float64(b.lines - n))
			o.met.drop(dropRejected, n)
			o.log.Warn("server refused lines of a batch: dropped", "values", n, "of", b.lines, "status", we.status, "err", we.msg)
		default:
			o.met.retried.Inc()
			o.q.fail()
			attempts++
			if !failing {
				failing, failedAt = true, time.Now()
				o.log.Warn("write failed; batches wait in the disk buffer and are retried", "target", o.s.target(), "err", err, "buffer_dir", o.s.bufferDir)
			} else {
				o.log.Debug("write retry failed", "attempt", attempts, "retry_in", backoff, "err", err)
			}
			if stopped() {
				return
			}
			select {
			case <-time.After(backoff):
			case <-stop:
				return
			}
			backoff = min(2*backoff, o.s.maxBackoff)
			continue
		}
		if failing {
			_, values, _ := o.q.pending()
			o.log.Info("writes succeed again; replaying the disk buffer", "down_for", time.Since(failedAt).Round(time.Millisecond), "failed_attempts", attempts, "values_waiting", values)
			failing, attempts = false, 0
		}
		backoff = o.s.backoff
	}
}

// write sends one batch; for a 1.x database that does not exist it creates
// it (and logs that) and sends again.
func (o *Sink) write(b *batch) error {
	ctx := context.Background() // each request is bounded by the client's timeout
	err := o.client.write(ctx, b.body, b.gz, b.precision)
	if !errors.Is(err, errDatabaseNotFound) {
		return err
	}
	if err := o.client.createDatabase(ctx); err != nil {
		return fmt.Errorf("database %q not found, and creating it failed: %w", o.s.database, err)
	}
	o.log.Info("database created", "database", o.s.database, "url", o.s.url)
	return o.client.write(ctx, b.body, b.gz, b.precision)
}
