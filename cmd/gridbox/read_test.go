package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus/modbustest"
)

// startModbus starts a register-image server with SMA registers at unit 3
// and the demo room's at unit 1.
func startModbus(t *testing.T) *modbustest.Server {
	t.Helper()
	srv, err := modbustest.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	sma := srv.Unit(3)
	sma.Set(modbustest.Holding, 30057, 18838, 722)
	sma.Set(modbustest.Holding, 30775, 0, 12345)
	sma.Set(modbustest.Holding, 30783, 0, 23050)
	room := srv.Unit(1)
	room.Set(modbustest.Input, 1, 0x404D)
	room.Set(modbustest.Holding, 1, 0x004E)
	room.Set(modbustest.Holding, 40, 0x4142, 0x4300)
	room.Set(modbustest.Holding, 50, 0x7F80, 0x0000) // float32 +Inf
	room.SetBits(modbustest.Coil, 0, true)
	room.Fail(modbustest.Holding, 99)
	return srv
}

// TestReadCommand runs `gridbox read` against a Modbus server: output
// format, exit codes and messages.
func TestReadCommand(t *testing.T) {
	srv := startModbus(t)
	url := srv.URL()
	cases := []struct {
		name    string
		args    []string
		code    int
		stdout  []string // substrings of stdout
		stderr  []string // substrings of stderr
		exactly string   // the whole stdout, if set
	}{
		{name: "sma specs, unit in URL", args: []string{url + "?unit=3", "holding:30775:int32", "holding:30057:uint32", "holding:30783:uint32:ABCD:x0.01"},
			exactly: "holding:30775:int32              [30775] 0x0000 0x3039  = 12345\n" +
				"holding:30057:uint32             [30057] 0x4996 0x02D2  = 1234567890\n" +
				"holding:30783:uint32:ABCD:x0.01  [30783] 0x0000 0x5A0A  = 230.5\n"},
		{name: "unit flag", args: []string{"--unit", "3", url, "holding:30775:int32"}, stdout: []string{"= 12345"}},
		{name: "unit flag over URL's", args: []string{url + "?unit=1", "--unit=3", "holding:30775:int32"}, stdout: []string{"= 12345"}},
		{name: "float16 BA, coil, string", args: []string{url, "--timeout=2s", "input:1:float16:BA", "coil:0:bool", "holding:40:string:2"},
			stdout: []string{"[1] 0x404D  = 21\n", "[0] true  = true\n", `[40] 0x4142 0x4300  = "ABC"` + "\n"}},
		{name: "built-in profile", args: []string{url, "--profile", "demo-room"},
			stdout: []string{"temperature                      [1] 0x404D  = 21 °C\n", "setpoint                         [1] 0x004E  = 24 °C\n"}},
		{name: "exception", args: []string{url, "holding:99:uint16", "holding:1:uint16"}, code: exitRuntime,
			stdout: []string{"holding:99:uint16                ERROR holding 1@99: illegal data address\n", "holding:1:uint16                 [1] 0x004E  = 78\n"},
			stderr: []string{"gridbox read: 1 of 2 reads failed\n"}},
		{name: "decode error", args: []string{url, "holding:50:float32"}, code: exitRuntime,
			stdout: []string{"holding:50:float32               [50] 0x7F80 0x0000  decode error: float32 is infinite (raw 0x7f800000)\n"},
			stderr: []string{"1 of 1 reads failed"}},
		{name: "help", args: []string{"-h"}, stdout: []string{"usage: gridbox read [--driver NAME] URL", "TABLE:ADDRESS:TYPE", "modbus (tcp, "}},
		{name: "help after other args", args: []string{url, "--help"}, stdout: []string{"usage: gridbox read [--driver NAME] URL"}},
		{name: "driver by name", args: []string{"--driver", "modbus", url + "?unit=3", "holding:30775:int32"}, stdout: []string{"= 12345"}},
		{name: "unknown driver", args: []string{"--driver", "nope", url, "holding:1:int16"}, code: exitUsage, stderr: []string{`--driver "nope" is not a driver gridbox read knows (known: modbus`}},
		{name: "bad spec", args: []string{url, "holding:abc:int32"}, code: exitUsage, stderr: []string{`gridbox read: spec "holding:abc:int32": address "abc"`}},
		{name: "bad url", args: []string{"tcp://", "holding:1:int16"}, code: exitUsage, stderr: []string{`gridbox read: url: "tcp://": want host:port`}},
		{name: "no url", args: nil, code: exitUsage, stderr: []string{"missing URL", "usage: gridbox read"}},
		{name: "no specs", args: []string{url}, code: exitUsage, stderr: []string{"nothing to read: give SPECs or --profile"}},
		{name: "unknown flag", args: []string{"--speed", "1", url, "holding:1:int16"}, code: exitUsage, stderr: []string{"unknown flag --speed", "usage: gridbox read"}},
		{name: "flag without value", args: []string{url, "holding:1:int16", "--timeout"}, code: exitUsage, stderr: []string{"flag --timeout needs a value"}},
		{name: "bad unit", args: []string{url, "holding:1:int16", "--unit", "256"}, code: exitUsage, stderr: []string{`--unit "256" is not 0..255`}},
		{name: "bad timeout", args: []string{url, "holding:1:int16", "--timeout", "0"}, code: exitUsage, stderr: []string{`--timeout "0" is not a positive duration`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(append([]string{"read"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			if tc.exactly != "" && out != tc.exactly {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tc.exactly)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if tc.code == exitOK && errs != "" {
				t.Errorf("stderr not empty: %s", errs)
			}
		})
	}
}

// TestReadUnknownProfileNamedOnce: the profile's name is said once.
func TestReadUnknownProfileNamedOnce(t *testing.T) {
	code, out, errs := runCmd("read", "tcp://127.0.0.1:1", "--profile", "nope")
	if code != exitUsage || out != "" {
		t.Fatalf("exit %d, stdout %q; want 2 and nothing", code, out)
	}
	if !strings.HasPrefix(errs, `gridbox read: profile "nope": no built-in profile`) || strings.Count(errs, "nope") != 1 {
		t.Fatalf("stderr %q: want the profile named once", errs)
	}
}

// TestReadDriverTable checks the table of `gridbox read`'s drivers: each
// scheme belongs to one driver that accepts it, an unknown scheme is refused
// with the known ones, and the usage shows every driver's syntax.
func TestReadDriverTable(t *testing.T) {
	// validSpec is one point each driver can read; add one with the driver.
	validSpec := map[string]string{"modbus": "holding:1:uint16", "knx": "1/2/3:9.001", "sunspec": "ac_power", "http": "Body.Data.Site.P_PV", "socket": "meter.power", "keba": "power"}

	owner := map[string]string{}
	_, help, _ := runCmd("read", "-h")
	for _, d := range readDrivers {
		if d.name == "" || len(d.schemes) == 0 || d.open == nil || d.syntax == "" {
			t.Errorf("driver %+v: want name, schemes, open and syntax", d)
			continue
		}
		if !strings.Contains(help, d.syntax) {
			t.Errorf("read -h lacks %s's syntax", d.name)
		}
		spec, ok := validSpec[d.name]
		if !ok {
			t.Errorf("driver %s: add a spec it reads to validSpec", d.name)
		}
		for _, s := range d.schemes {
			// A scheme several drivers read (tcp: Modbus, SunSpec) picks the
			// first of them; the others are chosen with --driver.
			if _, dup := owner[s]; !dup {
				owner[s] = d.name
			}
			// ReadOnce only checks the request; nothing is read unless ranged.
			if _, err := d.open().ReadOnce(context.Background(), driver.ReadRequest{URL: s + "://127.0.0.1:1", Specs: []string{spec}}); err != nil {
				t.Errorf("driver %s refuses its scheme %s: %v", d.name, s, err)
			}
		}
	}

	code, out, errs := runCmd("read", "ftp://127.0.0.1:1", "holding:1:int16")
	if code != exitUsage || out != "" || !strings.Contains(errs, `gridbox read: url "ftp://127.0.0.1:1": unknown scheme "ftp" (known: `) {
		t.Fatalf("unknown scheme: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for s, d := range owner {
		if !strings.Contains(errs, s) || !strings.Contains(errs, " for "+d) {
			t.Errorf("unknown scheme: %q does not name %s for %s", errs, s, d)
		}
	}
	code, _, errs = runCmd("read", "127.0.0.1:502", "holding:1:int16")
	if code != exitUsage || !strings.Contains(errs, `url "127.0.0.1:502" has no scheme (known: tcp, `) {
		t.Fatalf("no scheme: exit %d, stderr %q", code, errs)
	}
}

// fakeOneShot is a driver.OneShot that returns fixed readings.
type fakeOneShot struct {
	req      driver.ReadRequest
	readings []driver.Reading
	err      error
}

func (f *fakeOneShot) ReadOnce(_ context.Context, req driver.ReadRequest) (iter.Seq[driver.Reading], error) {
	f.req = req
	if f.err != nil {
		return nil, f.err
	}
	return func(yield func(driver.Reading) bool) {
		for _, r := range f.readings {
			if !yield(r) {
				return
			}
		}
	}, nil
}

// runFake runs `gridbox read` with fake as the only driver, for fake://.
func runFake(ctx context.Context, fake *fakeOneShot, args ...string) (int, string, string) {
	c := readCommand{
		drivers: []readDriver{
			{name: "fake", schemes: []string{"fake"}, open: func() driver.OneShot { return fake }, syntax: "  URL   fake://device"},
			{name: "finder", schemes: []string{"fake"}, open: func() driver.OneShot { return fake }, syntax: "  URL   fake://device", discovers: true},
		},
		profiles: fakeProfiles{},
	}
	var out, errb bytes.Buffer
	code := c.run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

type fakeProfiles struct{}

func (fakeProfiles) Load(string) ([]byte, string, error) { return nil, "", errors.New("no profiles") }

// TestReadAnyDriver: the command hands the request to the driver its
// scheme picks and prints whatever readings it returns.
func TestReadAnyDriver(t *testing.T) {
	fake := &fakeOneShot{readings: []driver.Reading{
		{Name: "power", Raw: `{"power": 1500.5}`, Value: 1500.5, Unit: "W"},
		{Name: "mode", Raw: "0x01", Value: "eco"},
		{Name: "on", Value: true},
		{Name: "soc", Raw: "0xFFFF", Value: nil, Unit: "%"},
		{Name: "1/2/3", Err: errors.New("no answer")},
		{Name: "4/5/6", Raw: "0x7F 0xFF", Err: errors.New("DPT 9.001 out of range")},
	}}
	code, out, errs := runFake(context.Background(), fake, "fake://device", "--unit", "4", "--timeout", "3s", "--profile", "p", "power", "mode")
	want := `power                            {"power": 1500.5}  = 1500.5 W
mode                             0x01  = "eco"
on                               = true
soc                              0xFFFF  = null %
1/2/3                            ERROR no answer
4/5/6                            0x7F 0xFF  decode error: DPT 9.001 out of range
`
	if code != exitRuntime || out != want || errs != "gridbox read: 2 of 6 reads failed\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr: %s", code, out, want, errs)
	}
	r := fake.req
	if r.URL != "fake://device" || strings.Join(r.Specs, ",") != "power,mode" || r.Profile != "p" || r.Profiles == nil ||
		r.Unit == nil || *r.Unit != 4 || r.Timeout != 3*time.Second {
		t.Fatalf("request %+v", r)
	}
	if code, _, _ := runFake(context.Background(), fake, "fake://device", "x"); code != exitRuntime || fake.req.Unit != nil || fake.req.Timeout != time.Second {
		t.Fatalf("defaults: exit %d, request %+v; want unit nil, timeout 1s", code, fake.req)
	}

	fake.readings = fake.readings[:1]
	if code, _, errs := runFake(context.Background(), fake, "fake://device", "x"); code != exitOK || errs != "" {
		t.Fatalf("all read: exit %d, stderr %q", code, errs)
	}

	fake.err = errors.New(`point "x": not a JSON path`)
	if code, out, errs := runFake(context.Background(), fake, "fake://device", "x"); code != exitUsage || out != "" || errs != "gridbox read: point \"x\": not a JSON path\n" {
		t.Fatalf("refused request: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	if _, help, _ := runFake(context.Background(), fake, "-h"); !strings.Contains(help, "fake (fake):\n  URL   fake://device\n") {
		t.Fatalf("usage lacks the driver:\n%s", help)
	}
}

// TestReadCanceled: a read that fails because ctx ended exits 1 naming
// the cancellation, not a count of failed reads.
func TestReadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fake := &fakeOneShot{readings: []driver.Reading{{Name: "a", Err: context.Canceled}}}
	code, _, errs := runFake(ctx, fake, "fake://device", "a", "b")
	if code != exitRuntime || errs != "gridbox read: context canceled\n" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

// TestReadDriverFlagAndJSON: --driver picks a driver of a shared scheme, a
// discovering driver needs no SPECs, and --json prints one document.
func TestReadDriverFlagAndJSON(t *testing.T) {
	fake := &fakeOneShot{readings: []driver.Reading{
		{Name: "power", Raw: "0x05DC", Value: 1500.0, Unit: "W"},
		{Name: "soc", Err: errors.New("no answer")},
	}}
	code, _, errs := runFake(context.Background(), fake, "fake://device")
	if code != exitUsage || !strings.Contains(errs, "nothing to read") {
		t.Fatalf("first driver of the scheme without SPECs: exit %d, stderr %q", code, errs)
	}
	code, out, errs := runFake(context.Background(), fake, "--driver", "finder", "fake://device", "--json")
	if code != exitRuntime || !strings.Contains(errs, "1 of 2 reads failed") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var doc struct {
		Driver   string
		URL      string
		Readings []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json output is not one JSON document: %v\n%s", err, out)
	}
	if doc.Driver != "finder" || doc.URL != "fake://device" || len(doc.Readings) != 2 {
		t.Fatalf("document %+v", doc)
	}
	if r := doc.Readings[0]; r["name"] != "power" || r["value"] != 1500.0 || r["unit"] != "W" || r["raw"] != "0x05DC" {
		t.Errorf("reading 0: %v", r)
	}
	if r := doc.Readings[1]; r["error"] != "no answer" || r["value"] != nil {
		t.Errorf("reading 1: %v", r)
	}
	if code, _, errs := runFake(context.Background(), fake, "fake://device", "--json=yes", "x"); code != exitUsage || !strings.Contains(errs, "--json takes no value") {
		t.Errorf("--json=yes: exit %d, stderr %q", code, errs)
	}
}
