package sim

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/profile"
	"github.com/simonvetter/modbus"
)

// TestEveryProfileHasASimulator: every built-in profile of a device that
// gridbox polls has a simulator (docs/profiles.md, "Built-in profiles");
// MQTT source profiles have none (mosquitto_pub stands in for the device),
// and the Homematic CCU, which describes its devices itself, has a
// simulator but no profile.
func TestEveryProfileHasASimulator(t *testing.T) {
	sums, err := profile.Builtin().Summaries()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"homematic-ccu"}
	for _, s := range sums {
		if s.Driver != "mqtt" {
			want = append(want, s.Name)
		}
	}
	slices.Sort(want)
	// The SunSpec simulators need no profile: the driver discovers them.
	got := slices.DeleteFunc(Names(), func(n string) bool { return strings.HasPrefix(n, "sunspec-") })
	if !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

func TestDefaultUnitsAndWrongUnit(t *testing.T) {
	tests := []struct {
		name string
		unit uint8
		addr uint16
	}{
		{"demo-room", 1, 1},
		{"sma-stp", 3, 30775},
		{"janitza-umg96rm", 1, 19026},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startTest(t, tc.name)
			readRegs(t, dial(t, s.Addr(), tc.unit), tc.addr, 1, modbus.INPUT_REGISTER)
			_, err := dial(t, s.Addr(), tc.unit+1).ReadRegisters(tc.addr, 1, modbus.INPUT_REGISTER)
			wantErr(t, "wrong unit", err, modbus.ErrGWTargetFailedToRespond)
			if n := s.Requests(); n != 2 {
				t.Errorf("Requests() = %d, want 2", n)
			}
		})
	}
}

func TestUnitOverride(t *testing.T) {
	s, err := start(context.Background(), "sma-stp", "127.0.0.1:0", 7, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	readRegs(t, dial(t, s.Addr(), 7), 30775, 2, modbus.HOLDING_REGISTER)
	_, err = dial(t, s.Addr(), 3).ReadRegisters(30775, 2, modbus.HOLDING_REGISTER)
	wantErr(t, "default unit after override", err, modbus.ErrGWTargetFailedToRespond)
}

func TestStartErrors(t *testing.T) {
	busy := startTest(t, "sma-stp")
	tests := []struct {
		name, sim, listen, want string
	}{
		{"unknown simulator", "no-such", "127.0.0.1:0", "available: ambus-net, demo-room, fronius-solar-api, homematic-ccu, huawei-sun2000, janitza-umg96rm, keba-p30, senertec-dachs, sma-stp, sunspec-der, sunspec-float, sunspec-int, wallbox-sim"},
		{"no port", "sma-stp", "127.0.0.1", "missing port"},
		{"bad port", "sma-stp", "127.0.0.1:99999", "want 0..65535"},
		{"port in use", "sma-stp", busy.Addr(), "address already in use"},
	}
	for _, tc := range tests {
		s, err := Start(context.Background(), tc.sim, tc.listen, 0, nil)
		if err == nil {
			s.Close()
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// TestTickerRunsDynamics: the public Start advances the room every second.
func TestTickerRunsDynamics(t *testing.T) {
	s, err := Start(context.Background(), "demo-room", "127.0.0.1:0", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := dial(t, s.Addr(), 1)
	moved := eventually(30*time.Second, func() bool {
		regs, err := c.ReadRegisters(1, 1, modbus.INPUT_REGISTER)
		return err == nil && decodeF16BA(regs[0]) > 21
	})
	if !moved {
		t.Error("temperature still 21.0 after 30 s")
	}
}

// TestCloseStopsEverything: after Close no goroutine is left and the port
// refuses connections, even with a client still connected.
func TestCloseStopsEverything(t *testing.T) {
	base := runtime.NumGoroutine()
	s, err := Start(context.Background(), "janitza-umg96rm", "127.0.0.1:0", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s.Addr(), 1)
	readRegs(t, c, 19000, 2, modbus.INPUT_REGISTER)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if !eventually(10*time.Second, func() bool { return runtime.NumGoroutine() <= base }) {
		t.Errorf("%d goroutines after Close, %d before Start", runtime.NumGoroutine(), base)
	}
	if conn, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		conn.Close()
		t.Error("port still accepts connections after Close")
	}
	if _, err := c.ReadRegisters(19000, 2, modbus.INPUT_REGISTER); err == nil {
		t.Error("connected client still answered after Close")
	}
}

func TestContextCancelStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, "sma-stp", "127.0.0.1:0", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	refused := eventually(10*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			conn.Close()
		}
		return err != nil
	})
	if !refused {
		t.Error("simulator still listening 10 s after its context was cancelled")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after cancel: %v", err)
	}
}

func TestLibraryLogLevels(t *testing.T) {
	tests := []struct{ line, want string }{
		{"modbus-server(x) [warn]: protocol error\n", "level=WARN"},
		{"modbus-server(x) [error]: handler returned 3 values\n", "level=ERROR"},
		{"modbus-server(x) [info]: hello\n", "level=DEBUG"},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		w := libLog{slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		if n, err := w.Write([]byte(tc.line)); err != nil || n != len(tc.line) {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("%q logged as %q, want %s", tc.line, b.String(), tc.want)
		}
	}
}
