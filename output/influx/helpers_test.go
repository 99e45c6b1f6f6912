package influx

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/sink"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const waitLimit = 60 * time.Second // generous: the machine is shared, -race is slow

func ptr[T any](v T) *T { return &v }

func dur(d time.Duration) *config.Duration { return ptr(config.Duration(d)) }

// point is a datapoint of device "pv".
func point(name string, f model.Format, unit string) model.Datapoint {
	return model.Datapoint{Device: "pv", Name: name, Meta: model.Meta{Kind: model.Sensor, Format: f, Unit: unit}}
}

// newBus returns a bus with device "pv" and the given datapoints, and a
// subscription as large as the gateway's.
func newBus(t testing.TB, pts ...model.Datapoint) (*bus.Bus, *bus.Subscription) {
	t.Helper()
	b := bus.New()
	if err := b.AddDevice(model.DeviceState{Device: "pv", Driver: "test"}, pts, nil, 0); err != nil {
		t.Fatal(err)
	}
	return b, b.Subscribe("outputs", bus.Options{Size: 1 << 16, States: true, Events: true})
}

// numbers returns n numeric datapoints p0 … p<n-1>.
func numbers(n int) []model.Datapoint {
	pts := make([]model.Datapoint, n)
	for i := range pts {
		pts[i] = point("p"+string(rune('0'+i)), model.GenericNumeric, "W")
	}
	return pts
}

// output is one opened Sink with what a test looks at.
type output struct {
	*Sink
	reg *prometheus.Registry
	log *testenv.Buffer
}

func open(t testing.TB, c *Config, b *bus.Bus) *output {
	t.Helper()
	if c.BufferDir == "" {
		c.BufferDir = filepath.Join(t.TempDir(), "buffer")
	}
	reg := prometheus.NewRegistry()
	lb := &testenv.Buffer{}
	o, err := Open(c, sink.Env{
		Name: "outputs", Bus: b,
		Log:     slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: prometheus.WrapRegistererWith(prometheus.Labels{"sink": "outputs"}, reg),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output log:\n%s", lb.String())
		}
	})
	return &output{Sink: o, reg: reg, log: lb}
}

// run runs o.Run until the returned stop (or the end of the test); stop
// also closes o, as the gateway does.
func (o *output) run(t testing.TB, sub *bus.Subscription) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx, sub) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitLimit):
			t.Fatal("Run did not return after cancel")
		}
		o.Close()
	}
	t.Cleanup(stop)
	return stop
}

func (o *output) written() int { return int(testutil.ToFloat64(o.met.written)) }
func (o *output) dropped(reason string) int {
	return int(testutil.ToFloat64(o.met.dropped.WithLabelValues(reason)))
}
func (o *output) retried() int     { return int(testutil.ToFloat64(o.met.retried)) }
func (o *output) bufferBytes() int { return int(testutil.ToFloat64(o.met.bufferBytes)) }

// segments lists the segment files in dir.
func segments(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if strings.HasSuffix(e.Name(), segmentExt) || strings.HasSuffix(e.Name(), segmentExt+".gz") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// dbName returns a database name of its own for a test.
func dbName(t testing.TB) string {
	return fmt.Sprintf("t_%s_%d", strings.NewReplacer("/", "_", "-", "_").Replace(strings.ToLower(t.Name())), dbSeq.Add(1))
}

var dbSeq atomic.Int64

// modelValue is a good value v of pv/p0 at ms.
func modelValue(v int, ms int64) model.Value {
	return model.Value{Device: "pv", Name: "p0", Value: float64(v), Time: ms, Quality: model.Good}
}
