package httpdrv

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// BenchmarkPoll polls a Fronius device through the driver (one request, the
// JSON parsed, six datapoints extracted) over a keep-alive connection, and
// reports requests/s. GRIDBOX_BENCH_HTTP_URL names a running simulator
// (bench/http.sh starts `gridbox sim fronius-solar-api`); without it an
// in-process simulator is used.
func BenchmarkPoll(b *testing.B) {
	url := os.Getenv("GRIDBOX_BENCH_HTTP_URL")
	if url == "" {
		url = startSim(b, "fronius-solar-api").URL()
	}
	dev := newTestDevice(b, fmt.Sprintf("{id: pv, driver: http, url: %q, profile: fronius-solar-api}", url), nil)
	s := newSink()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		dev.poll(ctx, s)
	}
	b.StopTimer()
	if st, _, errs := s.snapshot(); !st.Online || errs != 0 {
		b.Fatalf("state %+v errs %d", st, errs)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
