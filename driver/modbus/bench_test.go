package modbus

import (
	"context"
	"os"
	"testing"

	"github.com/gridbox/gridbox/driver"
	"github.com/simonvetter/modbus"
)

// smaBenchRegisters returns the built-in sma-stp profile's registers when
// the profile file exists, else the table of docs/profiles.md.
func smaBenchRegisters(b *testing.B) []Register {
	if data, err := os.ReadFile("../../profile/builtin/sma-stp.yaml"); err == nil {
		p, err := ParseProfile(data, "sma-stp.yaml")
		if err != nil {
			b.Fatal(err)
		}
		return p.Registers
	}
	return smaSTPRegisters()
}

// BenchmarkSMAPoll polls the sma-stp map from the register-image server,
// once with the planner and once with one read per field, and reports the
// requests each poll needs ("reads/poll") and the polls per second.
func BenchmarkSMAPoll(b *testing.B) {
	for _, mode := range []struct {
		name    string
		perItem bool
	}{{"planner", false}, {"per-field", true}} {
		b.Run(mode.name, func(b *testing.B) {
			srv := startServer(b)
			im := srv.Unit(3)
			regs := smaBenchRegisters(b)
			drv := New()
			defer drv.Close()
			dev := newTestDevice(b, drv, testConfig("pv", srv.URL(), 3, regs), driver.Env{})
			if mode.perItem {
				dev.plan = dev.plan[:0]
				for _, f := range dev.fields {
					dev.plan = append(dev.plan, newRead([]*field{f}))
				}
			}
			sink := newSink()
			ctx := context.Background()
			dev.poll(ctx, sink) // settle splits, if any
			im.ResetRequests()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sink.vals = sink.vals[:0]
				dev.poll(ctx, sink)
			}
			b.StopTimer()
			if !sink.state().Online {
				b.Fatalf("poll failed: %+v", sink.state())
			}
			b.ReportMetric(float64(im.Requests())/float64(b.N), "reads/poll")
			b.ReportMetric(float64(len(dev.fields)), "fields")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
		})
	}
}

// BenchmarkRequests measures requests per second over one connection
// (FC 3, two registers, like mbpoll in bench/modbus.sh), against the
// register-image server or, when GRIDBOX_BENCH_MODBUS_URL is set (like
// tcp://127.0.0.1:15502), against that device at unit 3.
func BenchmarkRequests(b *testing.B) {
	url := os.Getenv("GRIDBOX_BENCH_MODBUS_URL")
	if url == "" {
		srv := startServer(b)
		smaImage(srv.Unit(3))
		url = srv.URL()
	}
	t, err := parseURL(url)
	if err != nil {
		b.Fatal(err)
	}
	pool := NewPool()
	defer pool.Close()
	conn := pool.conn(t, DefaultTimeout, 0)
	ctx := context.Background()
	read := func(c *modbus.ModbusClient) error {
		_, err := c.ReadRegisters(30775, 2, modbus.HOLDING_REGISTER)
		return err
	}
	if err := conn.Do(ctx, 3, read); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := conn.Do(ctx, 3, read); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
