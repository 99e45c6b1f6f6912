package sunspec_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/sunspec"
	"github.com/gridbox/gridbox/internal/testenv"
)

// BenchmarkSunSpecIntDiscovery measures a discovery of the sunspec-int
// simulator over loopback (connect, marker, chain walk, common blocks) and
// reports the Modbus requests it takes, and the reads of one poll (the
// minimal cover of its decoded models). bench/README.md records the figures:
//
//	go test -run '^$' -bench SunSpecInt -benchtime 200x ./driver/sunspec
func BenchmarkSunSpecIntDiscovery(b *testing.B) {
	s := startSim(b, "sunspec-int")
	req := driver.ReadRequest{URL: "tcp://" + s.Addr(), Timeout: time.Second}
	before := s.Requests()
	for b.Loop() {
		seq, err := sunspec.OneShot().ReadOnce(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		for r := range seq { // the models are yielded once discovery is done
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			break
		}
	}
	reads := float64(s.Requests()-before) / float64(b.N)
	b.ReportMetric(reads, "reads/discovery")

	rec := newRecorder()
	dev := runDevice(b, testConfig("bench", s.Addr()), rec)
	testenv.Eventually(b, 10*time.Second, "first values", func() bool { _, ok := rec.value("bench/ac_power"); return ok })
	b.ReportMetric(float64(dev.ReadsPerPoll()), "reads/poll")
	fmt.Printf("sunspec-int: discovery %.2f ms, %.0f reads; %d reads per poll\n",
		float64(b.Elapsed().Microseconds())/1000/float64(b.N), reads, dev.ReadsPerPoll())
}
