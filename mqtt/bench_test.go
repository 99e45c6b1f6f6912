package mqtt

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// BenchmarkEmbedded measures bus → publisher → embedded broker → one TCP
// subscriber, in messages received per second.
func BenchmarkEmbedded(b *testing.B) {
	br := startBroker(b)
	benchThrough(b, Options{Broker: "embedded", Embedded: br}, br.Addr(), "gridbox")
}

// BenchmarkMosquitto measures the same load through the external Mosquitto,
// over MQTT 3.1.1 and MQTT 5.
func BenchmarkMosquitto(b *testing.B) {
	needMosquitto(b)
	for _, scheme := range []string{"mqtt", "mqtt5"} {
		b.Run(scheme, func(b *testing.B) {
			prefix := uniquePrefix(b, sharedMosquitto)
			benchThrough(b, Options{Broker: scheme + "://" + sharedMosquitto, Prefix: prefix, ClientID: prefix}, sharedMosquitto, prefix)
		})
	}
}

const (
	benchPoints = 100  // datapoints the load cycles through
	benchWindow = 2000 // values in flight at most (below the bus queue, so the bus drops nothing)
)

func benchThrough(b *testing.B, o Options, addr, prefix string) {
	bb := bus.New()
	pts := make([]model.Datapoint, benchPoints)
	for i := range pts {
		pts[i] = model.Datapoint{Name: fmt.Sprintf("p%03d", i), Meta: model.Meta{Kind: model.Sensor, Format: model.GenericNumeric}}
	}
	if err := bb.AddDevice(model.DeviceState{Device: "bench"}, pts, nil, 0); err != nil {
		b.Fatal(err)
	}
	o.Log = slog.New(slog.DiscardHandler)
	r := startPublisher(b, bb, o)
	var got atomic.Int64
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(fmt.Sprintf("bench-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("subscriber: %v", tok.Error())
	}
	defer c.Disconnect(50)
	c.Subscribe(prefix+"/bench/+", 0, func(_ paho.Client, m paho.Message) {
		if !strings.HasSuffix(m.Topic(), "/$state") {
			got.Add(1)
		}
	}).WaitTimeout(10 * time.Second)
	eventually(b, "the publisher to connect", func() bool { return r.metric("connected") == 1 })

	b.ResetTimer()
	for i := range b.N {
		waitProgress(b, &got, int64(i-benchWindow))
		bb.Publish(model.Value{Device: "bench", Name: pts[i%benchPoints].Name, Value: float64(i), Time: int64(i), Quality: model.Good})
	}
	waitProgress(b, &got, int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if d := r.metric("dropped", dropBufferFull); d != 0 {
		b.Errorf("%v values dropped", d)
	}
}

// waitProgress waits until at least n messages arrived; it fails when
// nothing arrives for 10 s (a lost message would stall the window).
func waitProgress(b *testing.B, got *atomic.Int64, n int64) {
	last, since := got.Load(), time.Now()
	for spins := 0; got.Load() < n; spins++ {
		if spins < 100 {
			continue
		}
		time.Sleep(20 * time.Microsecond)
		if g := got.Load(); g != last {
			last, since = g, time.Now()
		} else if time.Since(since) > 10*time.Second {
			b.Fatalf("stalled at %d of %d messages", g, n)
		}
	}
}
