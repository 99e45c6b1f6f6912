package modbus

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/gridbox/gridbox/driver/modbus/modbustest"
)

func smaImage(im *modbustest.Image) {
	im.Set(modbustest.Holding, 30057, 18838, 722)
	im.Set(modbustest.Holding, 30775, 0, 12345)
	im.Set(modbustest.Holding, 30783, 0, 23050)
}

func TestRunRead(t *testing.T) {
	srv := startServer(t)
	smaImage(srv.Unit(3))
	room := srv.Unit(1)
	room.Set(modbustest.Input, 1, 0x404D)
	room.Set(modbustest.Holding, 1, 0x004E)
	room.Set(modbustest.Holding, 40, 0x4142, 0x4300)
	room.SetBits(modbustest.Coil, 0, true)
	room.Fail(modbustest.Holding, 99)
	profiles := mapSource{"demo-room": demoRoomProfile}

	cases := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{name: "sma specs, unit in URL", args: []string{srv.URL() + "?unit=3", "holding:30775:int32", "holding:30057:uint32", "holding:30783:uint32:ABCD:x0.01"},
			want: []string{"holding:30775:int32", "[30775] 0x0000 0x3039  = 12345", "[30057] 0x4996 0x02D2  = 1234567890", "= 230.5"}},
		{name: "unit flag", args: []string{"--unit", "3", srv.URL(), "holding:30775:int32"}, want: []string{"= 12345"}},
		{name: "float16 BA, coil, string", args: []string{srv.URL(), "--timeout=2s", "input:1:float16:BA", "coil:0:bool", "holding:40:string:2"},
			want: []string{"[1] 0x404D  = 21", "[0] true  = true", `= "ABC"`}},
		{name: "profile", args: []string{srv.URL(), "--profile", "demo-room"},
			want: []string{"temperature", "= 21 °C", "setpoint", "= 24 °C"}},
		{name: "exception", args: []string{srv.URL(), "holding:99:uint16", "holding:1:uint16"},
			want: []string{"holding:99:uint16", "ERROR holding 1@99: illegal data address", "= 78"}, wantErr: "1 of 2 reads failed"},
		{name: "bad address", args: []string{srv.URL(), "holding:abc:int32"}, wantErr: `spec "holding:abc:int32": address "abc"`},
		{name: "bad table", args: []string{srv.URL(), "flash:1:int16"}, wantErr: `spec "flash:1:int16": table: unknown table "flash"`},
		{name: "bad type", args: []string{srv.URL(), "holding:1:int24"}, wantErr: `spec "holding:1:int24": type: unknown type`},
		{name: "too short", args: []string{srv.URL(), "holding:1"}, wantErr: `spec "holding:1": want TABLE:ADDRESS:TYPE`},
		{name: "bad scale", args: []string{srv.URL(), "holding:1:int16:x0"}, wantErr: `scale "x0"`},
		{name: "no url", args: nil, wantErr: "missing URL"},
		{name: "no specs", args: []string{srv.URL()}, wantErr: "nothing to read"},
		{name: "bad url", args: []string{"http://x", "holding:1:int16"}, wantErr: "unsupported scheme"},
		{name: "unknown flag", args: []string{"--speed", "1", srv.URL(), "holding:1:int16"}, wantErr: "unknown flag --speed"},
		{name: "unknown profile", args: []string{srv.URL(), "--profile", "nope"}, wantErr: `--profile nope: unknown profile`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := RunRead(context.Background(), tc.args, &out, profiles)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("RunRead: %v\n%s", err, out.String())
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
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
