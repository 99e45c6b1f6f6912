package modbus

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus/modbustest"
)

func smaImage(im *modbustest.Image) {
	im.Set(modbustest.Holding, 30057, 18838, 722)
	im.Set(modbustest.Holding, 30775, 0, 12345)
	im.Set(modbustest.Holding, 30783, 0, 23050)
}

// unit3Profile is a profile whose default unit id is 3.
const unit3Profile = `
name: unit3
driver: modbus
unit: 3
registers:
  - {name: ac_power, table: holding, address: 30775, type: int32, unit: W}
`

func intp(n int) *int { return &n }

// readAll runs a one-shot read to the end.
func readAll(t *testing.T, ctx context.Context, req driver.ReadRequest) []driver.Reading {
	t.Helper()
	seq, err := OneShot().ReadOnce(ctx, req)
	if err != nil {
		t.Fatalf("ReadOnce: %v", err)
	}
	return slices.Collect(seq)
}

// show is a reading in one line, for comparisons.
func show(r driver.Reading) string {
	s := fmt.Sprintf("%s|%s|%#v|%s", r.Name, r.Raw, r.Value, r.Unit)
	if r.Err != nil {
		s += "|" + r.Err.Error()
	}
	return s
}

func TestReadOnce(t *testing.T) {
	srv := startServer(t)
	smaImage(srv.Unit(3))
	room := srv.Unit(1)
	room.Set(modbustest.Input, 1, 0x404D)
	room.Set(modbustest.Holding, 1, 0x004E)
	room.Set(modbustest.Holding, 40, 0x4142, 0x4300)
	room.Set(modbustest.Holding, 50, 0x7F80, 0x0000) // float32 +Inf
	room.Set(modbustest.Holding, 52, 0x7FC0, 0x0000) // float32 NaN: not available
	room.Set(modbustest.Holding, 30775, 0, 1)
	room.SetBits(modbustest.Coil, 0, true)
	room.Fail(modbustest.Holding, 99)
	profiles := mapSource{"demo-room": demoRoomProfile, "unit3": unit3Profile}

	cases := []struct {
		name string
		req  driver.ReadRequest
		want []string // show() of each reading; a prefix for errors
	}{
		{name: "sma specs, unit in URL", req: driver.ReadRequest{URL: srv.URL() + "?unit=3", Specs: []string{"holding:30775:int32", "holding:30057:uint32", "holding:30783:uint32:ABCD:x0.01"}},
			want: []string{
				"holding:30775:int32|[30775] 0x0000 0x3039|12345|",
				"holding:30057:uint32|[30057] 0x4996 0x02D2|1.23456789e+09|",
				"holding:30783:uint32:ABCD:x0.01|[30783] 0x0000 0x5A0A|230.5|",
			}},
		{name: "unit", req: driver.ReadRequest{URL: srv.URL(), Unit: intp(3), Specs: []string{"holding:30775:int32"}},
			want: []string{"holding:30775:int32|[30775] 0x0000 0x3039|12345|"}},
		{name: "unit over URL's", req: driver.ReadRequest{URL: srv.URL() + "?unit=3", Unit: intp(1), Specs: []string{"holding:30775:int32"}},
			want: []string{"holding:30775:int32|[30775] 0x0000 0x0001|1|"}},
		{name: "profile's unit", req: driver.ReadRequest{URL: srv.URL(), Profile: "unit3", Profiles: profiles},
			want: []string{"ac_power|[30775] 0x0000 0x3039|12345|W"}},
		{name: "URL's unit over profile's", req: driver.ReadRequest{URL: srv.URL() + "?unit=1", Profile: "unit3", Profiles: profiles},
			want: []string{"ac_power|[30775] 0x0000 0x0001|1|W"}},
		{name: "float16 BA, coil, string", req: driver.ReadRequest{URL: srv.URL(), Specs: []string{"input:1:float16:BA", "coil:0:bool", "holding:40:string:2"}},
			want: []string{"input:1:float16:BA|[1] 0x404D|21|", "coil:0:bool|[0] true|true|", `holding:40:string:2|[40] 0x4142 0x4300|"ABC"|`}},
		{name: "profile, then specs", req: driver.ReadRequest{URL: srv.URL(), Profile: "demo-room", Profiles: profiles, Specs: []string{"holding:1:uint16"}},
			want: []string{"temperature|[1] 0x404D|21|°C", "setpoint|[1] 0x004E|24|°C", "holding:1:uint16|[1] 0x004E|78|"}},
		{name: "exception, then the next point", req: driver.ReadRequest{URL: srv.URL(), Specs: []string{"holding:99:uint16", "holding:1:uint16"}},
			want: []string{"holding:99:uint16||<nil>||holding 1@99: illegal data address", "holding:1:uint16|[1] 0x004E|78|"}},
		{name: "no such unit", req: driver.ReadRequest{URL: srv.URL(), Unit: intp(7), Specs: []string{"holding:1:uint16"}},
			want: []string{"holding:1:uint16||<nil>||holding 1@1: gateway target device failed to respond"}},
		{name: "decode error keeps the raw registers", req: driver.ReadRequest{URL: srv.URL(), Specs: []string{"holding:50:float32", "holding:52:float32"}},
			want: []string{"holding:50:float32|[50] 0x7F80 0x0000|<nil>||float32 is infinite", "holding:52:float32|[52] 0x7FC0 0x0000|<nil>|"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := readAll(t, context.Background(), tc.req)
			if len(got) != len(tc.want) {
				t.Fatalf("%d readings, want %d: %v", len(got), len(tc.want), got)
			}
			for i, r := range got {
				if s := show(r); !strings.HasPrefix(s, tc.want[i]) || (r.Err == nil && s != tc.want[i]) {
					t.Errorf("reading %d = %s\n                want %s", i, s, tc.want[i])
				}
			}
		})
	}
}

// TestReadOnceRequestErrors: a wrong request is refused before anything is
// read, and says what is wrong once.
func TestReadOnceRequestErrors(t *testing.T) {
	srv := startServer(t)
	profiles := mapSource{"broken": "name: broken\ndriver: modbus\nregisters:\n  - {name: a, address: 1, type: int99}\n"}
	spec := func(s string) driver.ReadRequest { return driver.ReadRequest{URL: srv.URL(), Specs: []string{s}} }
	cases := []struct {
		name string
		req  driver.ReadRequest
		want string
	}{
		{"bad address", spec("holding:abc:int32"), `spec "holding:abc:int32": address "abc"`},
		{"bad table", spec("flash:1:int16"), `spec "flash:1:int16": table: unknown table "flash"`},
		{"bad type", spec("holding:1:int24"), `spec "holding:1:int24": type: unknown type`},
		{"too short", spec("holding:1"), `spec "holding:1": want TABLE:ADDRESS:TYPE`},
		{"bad scale", spec("holding:1:int16:x0"), `spec "holding:1:int16:x0": scale "x0"`},
		{"bad url", driver.ReadRequest{URL: "http://x", Specs: []string{"holding:1:int16"}}, `url: "http://x": unsupported scheme "http"`},
		{"nothing", driver.ReadRequest{URL: srv.URL()}, "nothing to read"},
		{"unit", driver.ReadRequest{URL: srv.URL(), Unit: intp(256), Specs: []string{"holding:1:int16"}}, "unit 256 is out of 0..255"},
		{"unknown profile", driver.ReadRequest{URL: srv.URL(), Profile: "nope", Profiles: profiles}, `unknown profile "nope"`},
		{"no profile source", driver.ReadRequest{URL: srv.URL(), Profile: "nope"}, `profile "nope": no profile source`},
		{"broken profile", driver.ReadRequest{URL: srv.URL(), Profile: "broken", Profiles: profiles}, `broken.yaml:4: registers[0].type: unknown type "int99"`},
	}
	for _, tc := range cases {
		seq, err := OneShot().ReadOnce(context.Background(), tc.req)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || seq != nil {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Count(err.Error(), `"nope"`) > 1 {
			t.Errorf("%s: %q names the profile more than once", tc.name, err)
		}
	}
	if n := srv.Requests(); n != 0 {
		t.Errorf("refused requests sent %d Modbus requests", n)
	}
}

// TestReadOnceReadsWhileRanged: nothing is read before the range, and a
// range that stops early reads no further.
func TestReadOnceReadsWhileRanged(t *testing.T) {
	srv := startServer(t)
	seq, err := OneShot().ReadOnce(context.Background(), driver.ReadRequest{URL: srv.URL(), Specs: []string{"holding:1:uint16", "holding:2:uint16", "holding:3:uint16"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Requests(); n != 0 {
		t.Fatalf("%d requests before the range", n)
	}
	for r := range seq {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		break
	}
	if n := srv.Requests(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

// TestReadOnceStopsWhenCtxEnds: after a reading fails with ctx done, the
// sequence ends.
func TestReadOnceStopsWhenCtxEnds(t *testing.T) {
	srv := startServer(t)
	srv.Unit(1).Fail(modbustest.Holding, 99)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := readAll(t, ctx, driver.ReadRequest{URL: srv.URL(), Specs: []string{"holding:99:uint16", "holding:1:uint16"}})
	if len(got) != 1 || got[0].Err == nil {
		t.Fatalf("readings %v, want one failed reading", got)
	}
}

// TestMbpollReadsHarness checks the test harness against a real Modbus
// client: mbpoll reads the SMA AC power the way bench/modbus.sh does.
func TestMbpollReadsHarness(t *testing.T) {
	mbpoll := requireTool(t, "mbpoll")
	srv := startServer(t)
	smaImage(srv.Unit(3))
	_, port, _ := strings.Cut(srv.Addr(), ":")
	out, err := exec.Command(mbpoll, "-m", "tcp", "-a", "3", "-r", "30776", "-c", "2", "-t", "4:int", "-B", "-1", "-p", port, "127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("mbpoll: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "[30776]: \t12345") {
		t.Fatalf("mbpoll output lacks [30776]: 12345:\n%s", out)
	}
}
