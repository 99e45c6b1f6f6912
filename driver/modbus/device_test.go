package modbus

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus/modbustest"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestDevicePoll(t *testing.T) {
	cases := []struct {
		name  string
		unit  int
		image func(im *modbustest.Image)
		regs  []Register
		want  map[string]any
	}{
		{
			name: "sma-stp",
			unit: 3,
			image: func(im *modbustest.Image) {
				im.Set(modbustest.Holding, 30051, 0, 8081, 0, 9197)
				im.Set(modbustest.Holding, 30057, 18838, 722)
				im.Set(modbustest.Holding, 30201, 0, 307)
				im.Set(modbustest.Holding, 30529, 123, 45678)
				im.Set(modbustest.Holding, 30775, 0, 12345, 0, 4115, 0, 4115, 0, 4115)
				im.Set(modbustest.Holding, 30783, 0, 23050, 0, 23100, 0, 23150)
				im.Set(modbustest.Holding, 30803, 0, 5001)
				im.Set(modbustest.Holding, 30953, 0x8000, 0)
			},
			regs: func() []Register {
				regs := smaSTPRegisters()
				regs[3].Map = map[string]any{"307": "ok", "35": "fault", "303": "off", "455": "warning"}
				regs[13].Map = map[string]any{"0x80000000": nil}
				return regs
			}(),
			want: map[string]any{
				"device_class": 8081.0, "device_type": 9197.0, "serial_number": 1234567890.0, "status": "ok",
				"energy_total": 8106606.0, "ac_power": 12345.0, "ac_power_l1": 4115.0, "ac_power_l2": 4115.0,
				"ac_power_l3": 4115.0, "voltage_l1": 230.5, "voltage_l2": 231.0, "voltage_l3": 231.5,
				"frequency": 50.01, "temperature": nil,
			},
		},
		{
			name: "demo-room float16",
			unit: 1,
			image: func(im *modbustest.Image) {
				im.Set(modbustest.Input, 1, 0x404D)
				im.Set(modbustest.Holding, 1, 0x004E)
			},
			regs: []Register{
				{Name: "temperature", Table: "input", Address: 1, Type: "float16", Order: "BA"},
				{Name: "setpoint", Table: "holding", Address: 1, Type: "float16", Order: "BA", Meta: model.Meta{Kind: "actuator"}},
			},
			want: map[string]any{"temperature": 21.0, "setpoint": 24.0},
		},
		{
			name: "bits",
			unit: 7,
			image: func(im *modbustest.Image) {
				im.SetBits(modbustest.Coil, 0, true, false, true)
				im.SetBits(modbustest.Discrete, 100, true)
				im.Set(modbustest.Holding, 5, 0x0102)
			},
			regs: []Register{
				{Name: "relay0", Table: "coil", Address: 0},
				{Name: "relay1", Table: "coil", Address: 1},
				{Name: "relay2", Table: "coil", Address: 2},
				{Name: "door", Table: "discrete", Address: 100},
				{Name: "flag1", Address: 5, Type: "bool", Bit: u8(1)},
				{Name: "flag8", Address: 5, Type: "bool", Bit: u8(8)},
				{Name: "flag9", Address: 5, Type: "bool", Bit: u8(9)},
				{Name: "high", Address: 5, Type: "uint16", Mask: 0xFF00, Shift: 8},
			},
			want: map[string]any{"relay0": true, "relay1": false, "relay2": true, "door": true,
				"flag1": true, "flag8": true, "flag9": false, "high": 1.0},
		},
		{
			name:  "string",
			unit:  1,
			image: func(im *modbustest.Image) { im.Set(modbustest.Input, 40, 0x4772, 0x6964, 0x626F, 0x7800, 0) },
			regs:  []Register{{Name: "model", Table: "input", Address: 40, Type: "string", Length: 5}},
			want:  map[string]any{"model": "Gridbox"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t)
			tc.image(srv.Unit(uint8(tc.unit)))
			drv := New()
			defer drv.Close()
			dev := newTestDevice(t, drv, testConfig("dev", srv.URL(), tc.unit, tc.regs), driver.Env{})
			sink := newSink()
			dev.poll(context.Background(), sink)
			if st := sink.state(); !st.Online || st.Error != "" || st.LastSeen == 0 {
				t.Fatalf("state = %+v, want online without error", st)
			}
			for name, want := range tc.want {
				v, ok := sink.value(name)
				if !ok || v.Quality != model.Good || !sameValue(v.Value, want) || v.Device != "dev" || v.Time == 0 {
					t.Errorf("%s = %+v, want %v good", name, v, want)
				}
			}
			if len(sink.last) != len(tc.want) {
				t.Errorf("published %d datapoints, want %d", len(sink.last), len(tc.want))
			}
		})
	}
}

func TestExceptionSplitRemembered(t *testing.T) {
	srv := startServer(t)
	im := srv.Unit(1)
	im.Set(modbustest.Holding, 10, 1, 2, 0, 3, 4, 5)
	im.Fail(modbustest.Holding, 12, 15)
	regs := []Register{
		{Name: "a", Address: 10, Type: "uint16"}, {Name: "b", Address: 11, Type: "uint16"},
		{Name: "c", Address: 13, Type: "uint16"}, {Name: "d", Address: 14, Type: "uint16"},
		{Name: "e", Address: 15, Type: "uint16"},
	}
	drv := New()
	defer drv.Close()
	reg := prometheus.NewRegistry()
	dev := newTestDevice(t, drv, testConfig("dev", srv.URL(), 1, regs), driver.Env{Metrics: reg})
	sink := newSink()

	dev.poll(context.Background(), sink)
	// 10..15 fails → [a b] ok, [c d e] fails → [c] ok, [d e] fails → [d] ok, [e] fails.
	if n := im.Requests(); n != 7 {
		t.Errorf("first poll sent %d requests, want 7", n)
	}
	want := map[string]any{"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}
	for name, w := range want {
		if v, _ := sink.value(name); v.Quality != model.Good || v.Value != w {
			t.Errorf("%s = %+v, want %v good", name, v, w)
		}
	}
	if v, ok := sink.value("e"); !ok || v.Quality != model.Bad || v.Value != nil {
		t.Errorf("e = %+v, want null with quality bad", v)
	}
	st := sink.state()
	if !st.Online || !strings.Contains(st.Error, "e: ") || !strings.Contains(st.Error, "illegal data address") {
		t.Errorf("state = %+v, want online with the error of e", st)
	}

	im.ResetRequests()
	dev.poll(context.Background(), sink)
	if n := im.Requests(); n != 4 {
		t.Errorf("second poll sent %d requests, want 4 (remembered split plan)", n)
	}
	if got := planString(dev.plan); got != "holding 2@10, holding 1@13, holding 1@14, holding 1@15" {
		t.Errorf("plan = %s", got)
	}
	if n := testutil.ToFloat64(drv.metricsFor(reg).errors.WithLabelValues("dev", "exception")); n != 5 {
		t.Errorf("exception errors = %v, want 5 (4 in the first poll, 1 in the second)", n)
	}
}

func TestDeviceRecoversAndIsolated(t *testing.T) {
	down, err := modbustest.New() // not started: the device is down at start
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = down.Stop() })
	down.Unit(1).Set(modbustest.Holding, 0, 42)
	other := startServer(t)
	other.Unit(1).Set(modbustest.Holding, 0, 7)

	drv := New()
	defer drv.Close()
	regs := []Register{{Name: "v", Address: 0, Type: "uint16"}}
	sinkA, sinkB := newSink(), newSink()
	runDevice(t, newTestDevice(t, drv, testConfig("a", down.URL(), 1, regs), driver.Env{}), sinkA)
	runDevice(t, newTestDevice(t, drv, testConfig("b", other.URL(), 1, regs), driver.Env{}), sinkB)

	waitFor(t, "device a offline with connection refused", func() bool {
		st := sinkA.state()
		return sinkA.pollCount() > 0 && !st.Online && strings.Contains(st.Error, "connection refused")
	})
	waitFor(t, "device b polling", func() bool { v, _ := sinkB.value("v"); return v.Value == 7.0 })

	if err := down.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "device a recovered", func() bool {
		v, _ := sinkA.value("v")
		return v.Value == 42.0 && v.Quality == model.Good && sinkA.state().Online
	})

	// The device dies while running: values go stale, state shows the error,
	// device b keeps polling.
	if err := down.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "device a stale", func() bool {
		v, _ := sinkA.value("v")
		st := sinkA.state()
		return v.Quality == model.Stale && !st.Online && st.Error != ""
	})
	before := sinkB.pollCount()
	waitFor(t, "device b keeps polling while a is down", func() bool { return sinkB.pollCount() >= before+5 })
	if v, _ := sinkB.value("v"); v.Quality != model.Good {
		t.Errorf("device b value = %+v, want good", v)
	}
	if sinkA.state().Errors == 0 {
		t.Errorf("device a errors not counted: %+v", sinkA.state())
	}
}

func TestSharedConnection(t *testing.T) {
	srv := startServer(t)
	srv.Unit(1).Set(modbustest.Holding, 0, 11)
	srv.Unit(2).Set(modbustest.Holding, 0, 22)
	drv := New()
	defer drv.Close()
	regs := []Register{{Name: "v", Address: 0, Type: "uint16"}}
	d1 := newTestDevice(t, drv, testConfig("d1", srv.URL(), 1, regs), driver.Env{})
	d2 := newTestDevice(t, drv, testConfig("d2", srv.URL(), 2, regs), driver.Env{})
	if d1.conn != d2.conn {
		t.Fatal("devices behind one URL do not share the connection")
	}
	s1, s2 := newSink(), newSink()
	runDevice(t, d1, s1)
	runDevice(t, d2, s2)
	waitFor(t, "both units read", func() bool {
		v1, _ := s1.value("v")
		v2, _ := s2.value("v")
		return v1.Value == 11.0 && v2.Value == 22.0 && s1.pollCount() > 5 && s2.pollCount() > 5
	})
}

func TestDisconnectAfterPoll(t *testing.T) {
	srv := startServer(t)
	drv := New()
	defer drv.Close()
	cfg := testConfig("d", srv.URL(), 1, []Register{{Name: "v", Address: 0, Type: "uint16"}})
	cfg.Disconnect = true
	dev := newTestDevice(t, drv, cfg, driver.Env{})
	sink := newSink()
	dev.poll(context.Background(), sink)
	if !sink.state().Online {
		t.Fatalf("state = %+v", sink.state())
	}
	if dev.conn.open {
		t.Fatal("connection still open after a poll with disconnect: true")
	}
}

func TestWrite(t *testing.T) {
	srv := startServer(t)
	im := srv.Unit(1)
	im.Clip(20, 150, 300)
	regs := []Register{
		{Name: "setpoint", Address: 1, Type: "float16", Order: "BA", Meta: model.Meta{Kind: "actuator"}},
		{Name: "limit", Address: 20, Type: "uint16", Scale: 0.1, Meta: model.Meta{Kind: "actuator"}},
		{Name: "power", Address: 30, Type: "int32", Meta: model.Meta{Kind: "actuator"}},
		{Name: "relay", Table: "coil", Address: 3, Meta: model.Meta{Kind: "actuator"}},
		{Name: "flag", Address: 40, Type: "bool", Bit: u8(2), Meta: model.Meta{Kind: "actuator"}},
		{Name: "mode", Address: 41, Type: "uint16", Map: map[string]any{"0": "off", "1": "heat", "2": "cool"}, Meta: model.Meta{Kind: "actuator"}},
		{Name: "temperature", Table: "input", Address: 1, Type: "float16"},
	}
	im.Set(modbustest.Holding, 40, 0x8001)
	drv := New()
	defer drv.Close()
	dev := newTestDevice(t, drv, testConfig("room", srv.URL(), 1, regs), driver.Env{})
	sink := newSink()
	dev.mu.Lock()
	dev.sink = sink
	dev.mu.Unlock()
	ctx := context.Background()

	cases := []struct {
		name    string
		v       any
		want    any
		wantErr string
		check   func() bool
	}{
		{name: "setpoint", v: 22.5, want: 22.5, check: func() bool { return im.Get(modbustest.Holding, 1, 1)[0] == 0xA04D }},
		{name: "power", v: -1500.0, want: -1500.0, check: func() bool {
			r := im.Get(modbustest.Holding, 30, 2)
			return r[0] == 0xFFFF && r[1] == 0xFA24
		}},
		{name: "limit", v: 25.0, want: 25.0, check: func() bool { return im.Get(modbustest.Holding, 20, 1)[0] == 250 }},
		{name: "limit", v: 40.0, want: 30.0, wantErr: "read back 30, wrote 40"},
		{name: "relay", v: true, want: true, check: func() bool { return im.Bit(modbustest.Coil, 3) }},
		{name: "flag", v: true, want: true, check: func() bool { return im.Get(modbustest.Holding, 40, 1)[0] == 0x8005 }},
		{name: "flag", v: false, want: false, check: func() bool { return im.Get(modbustest.Holding, 40, 1)[0] == 0x8001 }},
		{name: "mode", v: "cool", want: "cool", check: func() bool { return im.Get(modbustest.Holding, 41, 1)[0] == 2 }},
		{name: "limit", v: 7000.0, wantErr: "out of range"},
		{name: "temperature", v: 1.0, wantErr: model.ErrNotWritable.Error()},
		{name: "nope", v: 1.0, wantErr: "unknown datapoint"},
	}
	for _, tc := range cases {
		got, err := dev.Write(ctx, tc.name, tc.v)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("write %s=%v: err = %v, want %q", tc.name, tc.v, err, tc.wantErr)
			}
		} else if err != nil {
			t.Errorf("write %s=%v: %v", tc.name, tc.v, err)
		}
		if tc.want != nil && got != tc.want {
			t.Errorf("write %s=%v returned %v, want %v", tc.name, tc.v, got, tc.want)
		}
		if tc.want != nil {
			if v, _ := sink.value(tc.name); v.Value != tc.want || v.Quality != model.Good {
				t.Errorf("write %s=%v: sink has %+v, want read-back %v", tc.name, tc.v, v, tc.want)
			}
		}
		if tc.check != nil && !tc.check() {
			t.Errorf("write %s=%v: device registers not as expected", tc.name, tc.v)
		}
	}
	if _, err := dev.Write(ctx, "temperature", 1.0); !errors.Is(err, model.ErrNotWritable) {
		t.Errorf("write to sensor: %v, want ErrNotWritable", err)
	}
}

func TestMetricsSharedRegistry(t *testing.T) {
	srv := startServer(t)
	reg := prometheus.NewRegistry()
	regs := []Register{{Name: "v", Address: 0, Type: "uint16"}}
	drvA, drvB := New(), New()
	defer drvA.Close()
	defer drvB.Close()
	d1 := newTestDevice(t, drvA, testConfig("d1", srv.URL(), 1, regs), driver.Env{Metrics: reg})
	d2 := newTestDevice(t, drvB, testConfig("d2", srv.URL(), 1, regs), driver.Env{Metrics: reg})
	d1.poll(context.Background(), newSink())
	d2.poll(context.Background(), newSink())
	d2.poll(context.Background(), newSink())
	want := `
# HELP gridbox_modbus_requests_total Modbus requests sent, by device.
# TYPE gridbox_modbus_requests_total counter
gridbox_modbus_requests_total{device="d1"} 1
gridbox_modbus_requests_total{device="d2"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gridbox_modbus_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(drvA.metricsFor(reg).pollDuration); n != 2 {
		t.Fatalf("poll duration series = %d, want 2", n)
	}
}

func TestProfileDevice(t *testing.T) {
	srv := startServer(t)
	srv.Unit(1).Set(modbustest.Input, 1, 0x404D)
	drv := New()
	defer drv.Close()
	cfg := testConfig("room", srv.URL(), 0, []Register{{Name: "humidity", Table: "input", Address: 2, Type: "uint16"}})
	cfg.Unit, cfg.Profile = nil, "demo-room"
	dev := newTestDevice(t, drv, cfg, driver.Env{Profiles: mapSource{"demo-room": demoRoomProfile}})
	if dev.unit != 1 || len(dev.Datapoints()) != 3 || dev.Datapoints()[0].Device != "room" {
		t.Fatalf("unit %d datapoints %+v", dev.unit, dev.Datapoints())
	}
	sink := newSink()
	dev.poll(context.Background(), sink)
	if v, _ := sink.value("temperature"); v.Value != 21.0 {
		t.Fatalf("temperature = %+v", v)
	}
	cfg.Profile = "missing"
	_, err := drv.Factory().New(cfg, driver.Env{Profiles: mapSource{}})
	var ce config.Errors
	if !errors.As(err, &ce) || len(ce) != 1 || ce[0].Path != "profile" || ce[0].Msg != `unknown profile "missing"` {
		t.Fatalf("missing profile: err = %#v, want config.Errors with path profile and the source's message", err)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	srv := startServer(t)
	srv.Unit(1).Set(modbustest.Holding, 0, 1)
	before := runtime.NumGoroutine()
	drv := New()
	regs := []Register{{Name: "v", Address: 0, Type: "uint16"}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	sinks := []*fakeSink{newSink(), newSink()}
	for i, s := range sinks {
		dev := newTestDevice(t, drv, testConfig(fmt.Sprintf("d%d", i), srv.URL(), 1, regs), driver.Env{})
		go func() { done <- dev.Run(ctx, s) }()
	}
	waitFor(t, "both devices polled", func() bool { return sinks[0].pollCount() > 2 && sinks[1].pollCount() > 2 })
	cancel()
	for range sinks {
		if err := <-done; err != nil {
			t.Fatalf("Run returned %v", err)
		}
	}
	if err := drv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitFor(t, "goroutines back to the count before Run", func() bool { return runtime.NumGoroutine() <= before })
}

// TestWriteFunctionCodes: one register is written with FC 6 and a coil with
// FC 5, unless the register asks for write_multiple (FC 16 / FC 15), as seen
// on the wire by a sniffing proxy.
func TestWriteFunctionCodes(t *testing.T) {
	srv := startServer(t)
	sn, err := modbustest.Sniff(strings.TrimPrefix(srv.URL(), "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	regs := []Register{
		{Name: "single", Address: 1, Type: "uint16", Meta: model.Meta{Kind: "actuator"}},
		{Name: "multi", Address: 2, Type: "uint16", WriteMultiple: true, Meta: model.Meta{Kind: "actuator"}},
		{Name: "wide", Address: 3, Type: "uint32", Meta: model.Meta{Kind: "actuator"}},
		{Name: "relay", Table: "coil", Address: 1, Meta: model.Meta{Kind: "actuator"}},
		{Name: "relays", Table: "coil", Address: 2, WriteMultiple: true, Meta: model.Meta{Kind: "actuator"}},
	}
	drv := New()
	defer drv.Close()
	dev := newTestDevice(t, drv, testConfig("d", sn.URL(), 1, regs), driver.Env{})
	dev.mu.Lock()
	dev.sink = newSink()
	dev.mu.Unlock()
	cases := []struct {
		name string
		v    any
		fc   byte
	}{
		{"single", 7.0, 6}, {"multi", 7.0, 16}, {"wide", 70000.0, 16}, {"relay", true, 5}, {"relays", true, 15},
	}
	for _, c := range cases {
		before := len(sn.Codes())
		if _, err := dev.Write(context.Background(), c.name, c.v); err != nil {
			t.Fatalf("write %s: %v", c.name, err)
		}
		codes := sn.Codes()[before:]
		if len(codes) == 0 || codes[0] != c.fc {
			t.Errorf("write %s: function codes %v, want %d first (then the read-back)", c.name, codes, c.fc)
		}
	}
}
