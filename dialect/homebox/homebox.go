// Package homebox is the home energy box's dialect: its glue mapping file
// (ingredients and recipes) read as an input — recipes become gridbox
// datapoints computed from MQTT topics — and gridbox's datapoints published
// as the box's data/devices/<entity>/<channel> messages with metric and
// metricKind, aggregated every 5 minutes into its cloud records
// (README.md, docs/dialect-homebox.md).
package homebox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
	"github.com/gridbox/gridbox/uplink"
)

const (
	msgQueue       = 1024
	uploadQueue    = 4
	publishTimeout = 10 * time.Second
	uploadTimeout  = 30 * time.Second
)

// Dialect runs the glue recipes and publishes the box's topics. Run owns its state.
type Dialect struct {
	bus   *bus.Bus
	mq    sink.MQTT
	cfg   Config
	glue  *glue // nil without a mapping
	log   *slog.Logger
	count func(string)
	msgs  chan inMsg

	// owned by Run
	conn    sink.MQTTConn
	ing     map[string]model.Value // ingredient → last value
	streams map[string]Stream      // datapoint key → stream
	agg     *uplink.Aggregator
}

type inMsg struct {
	topic   string
	payload []byte
}

// New prepares the dialect from a validated config; Run connects.
func New(b *bus.Bus, mq sink.MQTT, c Config, site string, log *slog.Logger, count func(string)) (*Dialect, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s", errs[0].Path, errs[0].Msg)
	}
	d := &Dialect{bus: b, mq: mq, cfg: c.withDefaults(site), log: log, count: count, msgs: make(chan inMsg, msgQueue),
		ing: map[string]model.Value{}}
	if c.Mapping != "" {
		g, err := LoadMapping(c.Mapping)
		if err != nil {
			return nil, err
		}
		d.glue = g
	}
	d.agg = uplink.NewAggregator(d.cfg.Interval.D(), func(dev, name string) model.Meta {
		dp, _, _, _ := b.Datapoint(dev, name)
		return dp.Meta
	})
	return d, nil
}

func (d *Dialect) onMessage(topic string, payload []byte, _ bool) {
	select {
	case d.msgs <- inMsg{topic: topic, payload: bytes.Clone(payload)}:
	default:
		d.count("dropped")
	}
}

// Run serves until ctx is done.
func (d *Dialect) Run(ctx context.Context, sub *bus.Subscription) error {
	remove, err := d.addDevices()
	if err != nil {
		return err
	}
	defer remove()
	conn, err := d.mq.DialMQTT("homebox", func() {}, d.onMessage)
	if err != nil {
		return fmt.Errorf("homebox: %w", err)
	}
	d.conn = conn
	uploads := make(chan []byte, uploadQueue)
	var wg sync.WaitGroup
	uctx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		wg.Wait()
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if d.cfg.UploadURL != "" {
		wg.Go(func() { d.uploader(uctx, uploads) })
	}
	if d.glue != nil {
		for _, in := range d.glue.ingredients {
			if err := conn.Subscribe(in.filter); err != nil {
				return fmt.Errorf("homebox: %w", err)
			}
		}
	}
	d.rebuild()
	every := d.cfg.Interval.D()
	timer := time.NewTimer(time.Until(time.Now().Truncate(every).Add(every)))
	defer timer.Stop()
	d.log.Info("homebox dialect started", "streams", len(d.streams), "interval", every)
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-d.msgs:
			d.ingredient(m)
		case v := <-sub.Values:
			d.value(ctx, v)
		case e := <-sub.Events:
			if e.Type == bus.DatapointAdded || e.Type == bus.DatapointRemoved {
				d.rebuild()
			}
		case <-sub.States:
		case now := <-timer.C:
			d.flush(ctx, now, uploads)
			timer.Reset(time.Until(now.Truncate(every).Add(every)))
		}
	}
}

// addDevices adds the recipes' devices to the catalog; remove takes them away.
func (d *Dialect) addDevices() (func(), error) {
	if d.glue == nil {
		return func() {}, nil
	}
	byDev := map[string][]model.Datapoint{}
	for _, r := range d.glue.recipes {
		byDev[r.dp.Device] = append(byDev[r.dp.Device], r.dp)
	}
	var added []string
	remove := func() {
		for _, id := range added {
			_ = d.bus.RemoveDevice(id)
		}
	}
	for id, dps := range byDev {
		if err := d.bus.AddDevice(model.DeviceState{Device: id, Driver: "homebox", Online: true}, dps, nil, 0); err != nil {
			remove()
			return nil, fmt.Errorf("homebox: recipe device %s: %w", id, err)
		}
		added = append(added, id)
	}
	return remove, nil
}

// rebuild maps the catalog's datapoints to streams: the configured ones,
// the recipes' and, with roles on, the role defaults (first come first).
func (d *Dialect) rebuild() {
	d.streams = map[string]Stream{}
	taken := map[string]bool{}
	recipes := map[string]*recipe{}
	if d.glue != nil {
		for _, r := range d.glue.recipes {
			recipes[r.dp.Key()] = r
		}
	}
	points := d.bus.Datapoints()
	sort.Slice(points, func(i, j int) bool { return points[i].Datapoint.Key() < points[j].Datapoint.Key() })
	place := func(key string, s Stream) {
		if !taken[s.topic()] {
			taken[s.topic()], d.streams[key] = true, s
		}
	}
	for _, p := range points {
		dp := p.Datapoint
		if s, ok := d.cfg.Streams[dp.Key()]; ok {
			place(dp.Key(), fill(s, dp))
		} else if r, ok := recipes[dp.Key()]; ok {
			place(dp.Key(), Stream{Entity: r.Entity, Channel: r.Channel, Metric: r.Metric, MetricKind: r.MetricKind, FriendlyName: r.FriendlyName})
		}
	}
	if !*d.cfg.Roles {
		return
	}
	for _, p := range points {
		dp := p.Datapoint
		if s, ok := roleStreams[dp.Role]; ok && d.streams[dp.Key()].Entity == "" {
			place(dp.Key(), fill(s, dp))
		}
	}
}

// fill takes what a stream leaves out from its datapoint.
func fill(s Stream, dp model.Datapoint) Stream {
	if s.MetricKind == "" {
		s.MetricKind = dp.EffectiveMetricKind()
	}
	if s.FriendlyName == "" {
		s.FriendlyName = dp.Description
	}
	return s
}

// ingredient reads one ingredient message and computes the recipes using it.
func (d *Dialect) ingredient(m inMsg) {
	if d.glue == nil {
		return
	}
	now := model.NowMs()
	var hit []string
	for name, in := range d.glue.ingredients {
		if !match(in.filter, m.topic) {
			continue
		}
		f, err := in.extract(m.payload)
		if err != nil {
			d.count("refused")
			d.log.Warn("homebox ingredient refused", "ingredient", name, "topic", m.topic, "err", err)
			continue
		}
		d.ing[name] = model.Value{Value: f, Time: now, Quality: model.Good}
		hit = append(hit, name)
	}
	for _, r := range d.glue.recipes {
		if !usesAny(r, hit) {
			continue
		}
		if v, ok := d.cook(r, now); ok {
			d.bus.Publish(model.Value{Device: r.dp.Device, Name: r.dp.Name, Value: v, Time: now, Quality: model.Good})
		}
	}
}

func usesAny(r *recipe, names []string) bool {
	for _, n := range names {
		for _, u := range r.uses {
			if u == n {
				return true
			}
		}
	}
	return false
}

// cook computes a recipe from its ingredients' last values; not when one
// is missing or older than ignore_after.
func (d *Dialect) cook(r *recipe, now int64) (float64, bool) {
	vals := map[string]float64{}
	for _, u := range r.uses {
		v, ok := d.ing[u]
		if !ok || (r.IgnoreAfter != nil && float64(now-v.Time) > *r.IgnoreAfter*1000) {
			return 0, false
		}
		vals["in/"+u] = v.Value.(float64)
	}
	f, err := r.expr.Eval(vals)
	if err != nil {
		d.count("failed")
		d.log.Warn("homebox recipe failed", "recipe", r.name, "err", err)
		return 0, false
	}
	return f, true
}

// Data is a data/devices/<entity>/<channel> message.
type Data struct {
	Entity       string  `json:"entity"`
	Channel      string  `json:"channel"`
	FriendlyName string  `json:"friendly_name,omitempty"`
	Value        float64 `json:"value"`
	Unit         string  `json:"unit,omitempty"`
	Metric       string  `json:"metric"`
	MetricKind   string  `json:"metricKind"`
	Timestamp    float64 `json:"timestamp"` // Unix seconds
}

// value publishes a stream's value and feeds the aggregation.
func (d *Dialect) value(ctx context.Context, v model.Value) {
	s, ok := d.streams[v.Key()]
	if !ok {
		return
	}
	d.agg.Add(v)
	f, num := model.AsFloat(v.Value)
	if v.Quality != model.Good || !num {
		return
	}
	dp, _, _, _ := d.bus.Datapoint(v.Device, v.Name)
	b, _ := json.Marshal(Data{Entity: s.Entity, Channel: s.Channel, FriendlyName: s.FriendlyName, Value: f, Unit: dp.Unit,
		Metric: s.Metric, MetricKind: s.MetricKind, Timestamp: float64(v.Time) / 1000})
	topic := s.topic()
	if r := d.recipeOf(v.Key()); r != nil {
		topic = r.TopicOut
	}
	d.send(ctx, topic, b)
}

func (d *Dialect) recipeOf(key string) *recipe {
	if d.glue == nil {
		return nil
	}
	for _, r := range d.glue.recipes {
		if r.dp.Key() == key {
			return r
		}
	}
	return nil
}

func (d *Dialect) send(ctx context.Context, topic string, payload []byte) {
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if err := d.conn.Publish(pctx, topic, payload, 0, false); err != nil {
		d.count("failed")
		d.log.Debug("homebox message not published", "topic", topic, "err", err)
		return
	}
	d.count("published")
}

// Record is one cloud aggregated record.
type Record struct {
	DeviceID   string  `json:"deviceId"`
	SensorID   string  `json:"sensorId"`
	SensorName string  `json:"sensorName"`
	Metric     string  `json:"metric"`
	MetricKind string  `json:"metricKind"`
	Unit       string  `json:"unit"`
	Timestamp  int64   `json:"timestamp"` // the window's aligned end, Unix seconds
	Value      float64 `json:"value"`
	Interval   int64   `json:"interval"` // seconds
}

// flush turns the windows that ended into records: published on
// aggregated_data/devices/<entity>/<channel> and uploaded as one list.
func (d *Dialect) flush(ctx context.Context, now time.Time, uploads chan<- []byte) {
	var recs []Record
	for _, v := range d.agg.Flush(now.UnixMilli()) {
		name, stat, _ := strings.Cut(v.Name, "/")
		key := v.Device + "/" + name
		s, ok := d.streams[key]
		f, num := model.AsFloat(v.Value)
		if !ok || !num || (stat != "last" && stat != "sum") {
			continue
		}
		dp, _, _, _ := d.bus.Datapoint(v.Device, name)
		r := Record{DeviceID: d.cfg.DeviceID, SensorID: s.Entity + "/" + s.Channel, SensorName: s.FriendlyName, Metric: s.Metric,
			MetricKind: s.MetricKind, Unit: dp.Unit, Timestamp: v.Time / 1000, Value: f, Interval: int64(d.cfg.Interval.D() / time.Second)}
		if r.SensorName == "" {
			r.SensorName = s.Entity + " " + s.Channel
		}
		recs = append(recs, r)
		b, _ := json.Marshal(r)
		d.send(ctx, "aggregated_data/devices/"+s.Entity+"/"+s.Channel, b)
	}
	if len(recs) == 0 || d.cfg.UploadURL == "" {
		return
	}
	b, _ := json.Marshal(recs)
	select {
	case uploads <- b:
	default:
		d.count("upload_dropped")
		d.log.Warn("homebox upload dropped: the previous ones are still pending", "records", len(recs))
	}
}

// uploader posts record lists to upload_url until ctx is done.
func (d *Dialect) uploader(ctx context.Context, in <-chan []byte) {
	cli := &http.Client{Timeout: uploadTimeout}
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-in:
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.UploadURL, bytes.NewReader(b))
			if err != nil {
				d.count("upload_failed")
				continue
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := cli.Do(req)
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode >= 300 {
					err = fmt.Errorf("HTTP %s", resp.Status)
				}
			}
			if err != nil {
				d.count("upload_failed")
				d.log.Warn("homebox upload failed", "url", d.cfg.UploadURL, "err", err)
				continue
			}
			d.count("uploaded")
		}
	}
}
