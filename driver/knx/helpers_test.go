package knx

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
)

// fakeSink records what a device reports.
type fakeSink struct {
	mu     sync.Mutex
	vals   []model.Value
	last   map[string]model.Value
	states []model.DeviceState
	stale  int
}

func newSink() *fakeSink { return &fakeSink{last: map[string]model.Value{}} }

func (s *fakeSink) Publish(vals ...model.Value) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vals = append(s.vals, vals...)
	for _, v := range vals {
		s.last[v.Name] = v
	}
}

func (s *fakeSink) SetState(st model.DeviceState, _, _ uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.states = append(s.states, st)
}

func (s *fakeSink) MarkStale(string, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stale++
	for k, v := range s.last {
		v.Quality = model.Stale
		s.last[k] = v
	}
}

func (s *fakeSink) value(name string) (model.Value, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.last[name]
	return v, ok
}

func (s *fakeSink) state() model.DeviceState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.states) == 0 {
		return model.DeviceState{}
	}
	return s.states[len(s.states)-1]
}

// knxd is a private knxd: a KNX/IP tunnelling server on 127.0.0.1 with a
// dummy bus, and a local socket for knxtool.
type knxd struct {
	t      testing.TB
	bin    string
	port   int
	sock   string
	log    *testenv.Buffer
	cmd    *exec.Cmd
	waited chan struct{}
}

// startKnxd starts knxd on a free UDP port (skips, or fails in CI, when
// knxd or knxtool is missing).
func startKnxd(t testing.TB) *knxd {
	t.Helper()
	testenv.Tool(t, "knxtool")
	k := &knxd{t: t, bin: testenv.Tool(t, "knxd"), port: freeUDPPort(t), sock: filepath.Join(t.TempDir(), "knx.sock")}
	k.start()
	t.Cleanup(k.stop)
	return k
}

func (k *knxd) start() {
	k.t.Helper()
	k.log = &testenv.Buffer{}
	k.cmd = exec.Command(k.bin, "-e", "0.0.1", "-E", "0.0.2:40", "--listen-local="+k.sock, "-f", "5", "--no-timestamp",
		"-T", fmt.Sprintf("--Server=224.0.23.12:%d", k.port), "--multi-port", "-b", "dummy:")
	k.cmd.Stdout, k.cmd.Stderr = k.log, k.log
	if err := k.cmd.Start(); err != nil {
		k.t.Fatalf("start knxd: %v", err)
	}
	k.waited = make(chan struct{})
	go func() { _ = k.cmd.Wait(); close(k.waited) }()
	testenv.Eventually(k.t, 15*time.Second, "knxd's local socket", func() bool {
		_, err := os.Stat(k.sock)
		return err == nil
	})
}

// stop kills knxd and waits for it to exit.
func (k *knxd) stop() {
	if k.cmd == nil || k.cmd.Process == nil {
		return
	}
	_ = k.cmd.Process.Signal(syscall.SIGKILL)
	<-k.waited
	_ = os.Remove(k.sock)
	k.cmd = nil
}

// addr is the tunnelling server's address.
func (k *knxd) addr() string { return fmt.Sprintf("127.0.0.1:%d", k.port) }

// tool runs a knxtool applet against knxd's local socket.
func (k *knxd) tool(applet string, args ...string) {
	k.t.Helper()
	out, err := exec.Command("knxtool", append([]string{applet, "local:" + k.sock}, args...)...).CombinedOutput()
	if err != nil {
		k.t.Fatalf("knxtool %s %v: %v: %s (knxd log: %s)", applet, args, err, out, k.log.String())
	}
}

// monitor runs `knxtool vbusmonitor1` until the test ends and returns its output.
func (k *knxd) monitor() *testenv.Buffer {
	k.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &testenv.Buffer{}
	cmd := exec.CommandContext(ctx, "knxtool", "vbusmonitor1", "local:"+k.sock)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	// The monitor is listening once it sees a telegram sent after it started.
	testenv.Eventually(k.t, 20*time.Second, "knxtool vbusmonitor1 listening", func() bool {
		k.tool("groupswrite", "31/7/254", "0")
		time.Sleep(50 * time.Millisecond)
		return strings.Contains(out.String(), "to 31/7/254 ")
	})
	return out
}

func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// newTestDevice builds a device from YAML (the keys below `driver: knx`).
func newTestDevice(t testing.TB, yml string, profiles driver.ProfileSource) *Device {
	t.Helper()
	cfg := NewConfig()
	if err := decode(yml, cfg); err != nil {
		t.Fatal(err)
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("config: %v", config.Errors(errs))
	}
	dev, err := New().NewDevice(cfg, driver.Env{Profiles: profiles})
	if err != nil {
		t.Fatal(err)
	}
	return dev.(*Device)
}

// run runs dev until the test ends.
func run(t testing.TB, dev *Device, sink driver.Sink) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = dev.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitFor waits until s holds text.
func waitFor(t testing.TB, s *testenv.Buffer, text string) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, fmt.Sprintf("%q in knxtool's output:\n%s", text, s), func() bool {
		return strings.Contains(s.String(), text)
	})
}
