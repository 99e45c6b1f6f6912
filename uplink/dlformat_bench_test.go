package uplink

import (
	"fmt"
	"testing"
	"time"

	"github.com/gridbox/gridbox/dialect/datalogger/record"
	"github.com/gridbox/gridbox/model"
)

// BenchmarkFormat compares what one minute of a site costs to encode in
// the two formats: 50 devices × 20 datapoints, each read once. gridbox:
// every value as a wire object, sealed into one message (the anchor);
// datalogger: the values noted in the collector and one u/data payload
// built and encoded. It reports ns per value and bytes per value.
//
//	go test -run '^$' -bench Format -count 3 ./uplink
func BenchmarkFormat(b *testing.B) {
	now := time.Now()
	vals := make([]model.Value, 0, 1000)
	for d := range 50 {
		for p := range 20 {
			vals = append(vals, model.Value{Device: fmt.Sprintf("dev%02d", d), Name: fmt.Sprintf("point_%02d", p),
				Value: 1234.5 + float64(d*p), Time: now.UnixMilli(), Quality: model.Good})
		}
	}
	per := func(b *testing.B, size int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vals)), "ns/value")
		b.ReportMetric(float64(size)/float64(len(vals)), "bytes/value")
		b.ReportMetric(0, "ns/op")
	}
	b.Run("format=gridbox", func(b *testing.B) {
		size := 0
		for range b.N {
			enc := make([][]byte, 0, len(vals))
			for _, v := range vals {
				e, err := encodeValue(nil, v)
				if err != nil {
					b.Fatal(err)
				}
				enc = append(enc, e)
			}
			m, err := encodeMessage("site1", 1, now.UnixMilli(), enc, false)
			if err != nil {
				b.Fatal(err)
			}
			size = len(m)
		}
		per(b, size)
	})
	b.Run("format=datalogger", func(b *testing.B) {
		size := 0
		c := record.NewCollector(record.Options{})
		for range b.N {
			for _, v := range vals {
				c.Value(v)
			}
			p, ok := c.Build(now, "cfg")
			if !ok {
				b.Fatal("no payload")
			}
			m, err := record.Encode(p)
			if err != nil {
				b.Fatal(err)
			}
			size = len(m)
		}
		per(b, size)
	})
}
