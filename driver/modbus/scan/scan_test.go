package scan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/driver/modbus/modbustest"
	"github.com/gridbox/gridbox/profile"
)

func TestParseTargets(t *testing.T) {
	got, err := ParseTargets([]string{"127.0.0.1:502,127.0.0.2:1502", "127.0.0.0/30:502", "127.0.0.1:502", "localhost:5020"})
	want := []string{"127.0.0.1:502", "127.0.0.2:1502", "127.0.0.2:502", "localhost:5020"}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ParseTargets = %v, %v; want %v", got, err, want)
	}
	if got, _ := ParseTargets([]string{"127.0.0.0/24:502"}); len(got) != 254 || got[0] != "127.0.0.1:502" || got[253] != "127.0.0.254:502" {
		t.Fatalf("/24: %d endpoints, %v … %v", len(got), got[0], got[len(got)-1])
	}
	if got, _ := ParseTargets([]string{"127.0.0.7/32:502", "127.0.0.8/31:502"}); !slices.Equal(got, []string{"127.0.0.7:502", "127.0.0.8:502", "127.0.0.9:502"}) {
		t.Fatalf("/32 and /31: %v", got)
	}
	for arg, want := range map[string]string{
		"127.0.0.1":         "want host:port",
		"127.0.0.1:0":       "out of 1..65535",
		":502":              "no host",
		"10.0.0.0/8:502":    "scan at most a /16",
		"127.0.0.0/33:502":  "not an IPv4 CIDR",
		"[::1]/120:502":     "want host:port",
		",":                 "no targets",
		"127.0.0.1:http":    "out of 1..65535",
		"127.0.0.1/24:port": "out of 1..65535",
	} {
		if _, err := ParseTargets([]string{arg}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTargets(%q): %v; want %q", arg, err, want)
		}
	}
}

func TestParseUnits(t *testing.T) {
	got, err := ParseUnits("1-3, 7,2,10-10")
	if err != nil || !slices.Equal(got, []uint8{1, 2, 3, 7, 10}) {
		t.Fatalf("ParseUnits = %v, %v", got, err)
	}
	if got, _ := ParseUnits("1-247"); len(got) != 247 {
		t.Fatalf("1-247: %d units", len(got))
	}
	for in, want := range map[string]string{"248": "0..247", "5-3": "backwards", "a": "not a unit id", "": "not a unit id", "1-": "not a unit id"} {
		if _, err := ParseUnits(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseUnits(%q): %v; want %q", in, err, want)
		}
	}
}

// TestScanModbustest scans a modbustest server holding a SunSpec unit
// ("SunS" at 40000), one with the marker at the off-by-one 49999, a unit
// with data at input 1 (the probes before it fail) and one whose probes
// all fail. A modbustest unit answers every address it does not fail with
// 0, so no profile may match. Units without an image answer exception 11
// (gateway target failed to respond): they are absent.
func TestScanModbustest(t *testing.T) {
	srv, err := modbustest.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	srv.Unit(1).Set(modbustest.Holding, 40000, 0x5375, 0x6e53, 1, 66)
	srv.Unit(2).Set(modbustest.Holding, 49999, 0x5375, 0x6e53)
	srv.Unit(5).Fail(modbustest.Holding, 0, 1, 100, 1000, 40000, 40001, 50000, 50001, 39999, 49999)
	srv.Unit(5).Fail(modbustest.Input, 0)
	srv.Unit(5).Set(modbustest.Input, 1, 0xbeef)
	srv.Unit(9).Fail(modbustest.Holding, 0, 1, 100, 1000, 40000, 40001, 50000, 50001, 39999, 49999, 40001)
	srv.Unit(9).Fail(modbustest.Input, 0, 1, 100, 1000, 30001, 19000)

	var mu sync.Mutex
	var progress []Progress
	lib := profile.Builtin()
	units := Scan(context.Background(), []string{srv.Addr(), "127.0.0.1:1"}, Options{
		Units: []uint8{1, 2, 3, 5, 9}, Timeout: 2 * time.Second, Profiles: lib, Names: lib.Names(),
		Progress: func(p Progress) { mu.Lock(); progress = append(progress, p); mu.Unlock() },
	})
	got := map[uint8]Unit{}
	for _, u := range units {
		got[u.ID] = u
	}
	if len(units) != 4 || got[1].SunSpec != 40000 || got[2].SunSpec != 49999 || got[5].SunSpec != -1 || got[9].SunSpec != -1 {
		t.Fatalf("units %+v", units)
	}
	if p := got[5].Probe; p == nil || p.Table != "input" || p.Address != 1 || p.Value != 0xbeef || len(got[5].Profiles) != 0 || !got[5].AnswersAll {
		t.Fatalf("unit 5: %+v", got[5])
	}
	if got[9].Probe != nil || got[9].Answer != "holding 0: exception illegal data address" || got[1].Answer != "holding 0 = 0x0000" {
		t.Fatalf("unit 9: %+v, unit 1: %+v", got[9], got[1])
	}
	if len(progress) != 2 || progress[1].Done != 2 || progress[1].Answering != 1 || progress[1].Units != 4 {
		t.Fatalf("progress %+v", progress)
	}

	var b strings.Builder
	if err := WriteConfig(&b, units); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("  # %s unit 1 answered holding 0 = 0x0000; SunSpec marker \"SunS\" at 40000\n  - id: sunspec-%s-u1\n    driver: sunspec\n    url: \"tcp://%s\"\n    unit: 1\n", srv.Addr(), slug(srv.Addr()), srv.Addr()),
		fmt.Sprintf("input 1 = 0xbeef; it answers any address (also 65534), so no profile can be told: name its registers\n  - id: modbus-%s-u5\n", slug(srv.Addr())),
		"      - { name: input_1, table: input, address: 1, type: uint16 }\n",
		"no probe register answered with data, no built-in profile matched: name its registers\n",
		"      - { name: holding_0, table: holding, address: 0, type: uint16 }\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("config lacks %q:\n%s", want, b.String())
		}
	}
}

func TestWriteConfigEmpty(t *testing.T) {
	var b strings.Builder
	_ = WriteConfig(&b, nil)
	if b.String() != "devices: [] # no Modbus unit answered\n" {
		t.Fatalf("%q", b.String())
	}
	if s := slug("Meter.Local:502"); s != "meter-local-502" {
		t.Fatalf("slug %q", s)
	}
}

// TestScanEveryUnit: an endpoint that answers every unit id asked ignores
// the unit id; it is reported once.
func TestScanEveryUnit(t *testing.T) {
	srv, err := modbustest.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	for id := uint8(1); id <= 4; id++ {
		srv.Unit(id).Set(modbustest.Holding, 0, 7)
	}
	units := Scan(context.Background(), []string{srv.Addr()}, Options{Units: []uint8{1, 2, 3, 4}, Timeout: 2 * time.Second})
	if len(units) != 1 || units[0].ID != 1 || !units[0].EveryUnit {
		t.Fatalf("units %+v", units)
	}
	var b strings.Builder
	_ = WriteConfig(&b, units)
	if !strings.Contains(b.String(), "answered every unit id asked, so it ignores the unit id: unit 1 stands for all") {
		t.Fatal(b.String())
	}
	// Two of three answering is not "every unit".
	if units := Scan(context.Background(), []string{srv.Addr()}, Options{Units: []uint8{1, 2, 9}, Timeout: 2 * time.Second}); len(units) != 2 || units[0].EveryUnit {
		t.Fatalf("units %+v", units)
	}
}
