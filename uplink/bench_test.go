package uplink_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/uplink/uplinktest"
)

// BenchmarkDrain measures the drain rate after an outage: 200 000 values
// queued while the remote (a private Mosquitto) is down, then the time from
// its start until every value is acknowledged. It also reports the bytes
// per value on the wire (payload bytes of the messages received / values);
// the values are a meter's power (0.1 W steps) and energy, one per second.
//
//	go test -run '^$' -bench Drain -benchtime 1x ./uplink
func BenchmarkDrain(b *testing.B) {
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("gzip=%v", gz), func(b *testing.B) {
			var rate, perValue float64
			for range b.N {
				m := uplinktest.StartMosquitto(b)
				col := uplinktest.Collect(b, m.Addr, "site1/data")
				m.Stop()
				cfg := testConfig(b, "mqtt5://"+m.Addr)
				cfg.Gzip, cfg.BatchSize, cfg.Window = gz, 1000, 16
				g := startUplink(b, newBus(b), cfg)
				g.publish(100000) // 200 000 values
				testenv.Eventually(b, 120*time.Second, "values queued", func() bool {
					return gauge(b, g.reg, "gridbox_uplink_queued_values_total") >= 200000
				})
				m.Start() // the uplink reconnects after its backoff (at most 5 s): the clock starts when it is connected
				testenv.Eventually(b, 30*time.Second, "reconnected", func() bool {
					return gauge(b, g.reg, "gridbox_uplink_connected") == 1
				})
				start, from := time.Now(), gauge(b, g.reg, "gridbox_uplink_acked_values_total")
				testenv.Eventually(b, 300*time.Second, "queue drained", func() bool {
					return gauge(b, g.reg, "gridbox_uplink_acked_values_total") >= 200000
				})
				rate = (200000 - from) / time.Since(start).Seconds()
				testenv.Eventually(b, 60*time.Second, "every message at the collector", func() bool {
					return col.Summarize().Values >= 200000
				})
				perValue = float64(col.Bytes()) / float64(col.Summarize().Values)
				g.stop(b)
			}
			b.ReportMetric(rate, "values/s")
			b.ReportMetric(perValue, "bytes/value")
		})
	}
}
