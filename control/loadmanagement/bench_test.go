package loadmanagement

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gridbox/gridbox/model"
)

// BenchmarkCycle50Chargers: one cycle with 50 discovered chargers and 1000
// datapoints on the bus, the other load alternating between two values so
// every cycle reallocates and writes every charger (the worst case). The
// figure is reported as ms/cycle (target ≤ 1 ms).
func BenchmarkCycle50Chargers(b *testing.B) {
	s := newSite(b, 50, func(c *Config) { c.SiteMaxCurrent = 400 })
	n := len(s.b.Datapoints())
	var filler []model.Datapoint
	for i := n; i < 1000; i++ {
		filler = append(filler, model.Datapoint{Name: fmt.Sprintf("p%d", i), Meta: model.Meta{Kind: model.Sensor, Format: model.ContinuousNumeric}})
	}
	if err := s.b.AddDevice(model.DeviceState{Device: "other"}, filler, nil, 0); err != nil {
		b.Fatal(err)
	}
	if got := len(s.b.Datapoints()); got != 1000 || len(s.ctl.chargers) != 50 {
		b.Fatalf("%d datapoints, %d chargers; want 1000 and 50", got, len(s.ctl.chargers))
	}
	ctx := context.Background()
	b.ResetTimer()
	var spent time.Duration
	for i := range b.N {
		b.StopTimer()
		s.base = [3]float64{float64(10 + 20*(i%2)), 15, 20}
		s.publish()
		b.StartTimer()
		t0 := time.Now()
		s.ctl.Cycle(ctx, s.now)
		spent += time.Since(t0)
		s.now += 1000
	}
	b.ReportMetric(float64(spent.Microseconds())/1000/float64(b.N), "ms/cycle")
	if s.ctl.stats.writes.Load() == 0 {
		b.Fatal("no writes: the benchmark does not reallocate")
	}
}
