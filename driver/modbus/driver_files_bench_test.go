package modbus

import (
	"context"
	"os"
	"testing"

	"github.com/gridbox/gridbox/driver"
)

// BenchmarkDriverFileLoad converts the example driver files into profiles
// (parse, convert, compile) and reports the microseconds per file.
func BenchmarkDriverFileLoad(b *testing.B) {
	for _, name := range []string{"datalogger", "modbus_config"} {
		b.Run(name, func(b *testing.B) {
			data, err := os.ReadFile("testdata/driverfiles/" + name + ".json")
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := ParseProfile(data, name+".json"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkModbusConfigPoll polls a MODBUS_CONFIG block of ten floats
// (">ffffffffff", 20 registers) from the register-image server and reports
// the requests per poll: the planner reads the block in one request, as
// the framework's connector does.
func BenchmarkModbusConfigPoll(b *testing.B) {
	file := b.TempDir() + "/mc.json"
	src := `{"read_holding_registers": [{"address": 19000, "count": 20, "unit": 1, "datatypes": ">ffffffffff", "scaling_factors": {"19002": 0.1}}]}`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	srv := startServer(b)
	cfg := testConfig("meter", srv.URL(), 1, nil)
	cfg.Profile = file
	drv := New()
	defer drv.Close()
	dev := newTestDevice(b, drv, cfg, driver.Env{Profiles: fileSource{}})
	im := srv.Unit(1)
	im.ResetRequests()
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := dev.readAll(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(im.Requests())/float64(b.N), "reads/poll")
}
