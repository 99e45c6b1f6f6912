package influx

import (
	"fmt"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
)

// BenchmarkWriteInfluxDB: values/s from the output's subscription into the
// private InfluxDB 1.x (batches of 5000, gzip, 200 datapoints), counted when
// the server has acknowledged them. The values are fed through a channel
// the benchmark blocks on, so none is dropped on the way.
//
//	go test -run '^$' -bench WriteInfluxDB -benchtime 200000x ./output/influx
func BenchmarkWriteInfluxDB(b *testing.B) {
	for _, gz := range []bool{true, false} {
		b.Run(fmt.Sprintf("gzip=%v", gz), func(b *testing.B) {
			srv := sharedInfluxd(b)
			pts := make([]model.Datapoint, 200)
			for i := range pts {
				pts[i] = point(fmt.Sprintf("p%d", i), model.GenericNumeric, "W")
			}
			bs, _ := newBus(b, pts...)
			ch := make(chan model.Value, 1<<14)
			o := open(b, &Config{URL: srv.URL, Database: dbName(b), Gzip: ptr(gz)}, bs)
			o.run(b, &bus.Subscription{Values: ch})
			t0 := time.Now().UnixMilli() - int64(b.N)
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				ch <- model.Value{Device: "pv", Name: pts[i%200].Name, Value: float64(i) / 4, Time: t0 + int64(i/200), Quality: model.Good}
			}
			testenv.Eventually(b, 5*time.Minute, "every value acknowledged", func() bool { return o.written() == b.N })
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "values/s")
		})
	}
}
