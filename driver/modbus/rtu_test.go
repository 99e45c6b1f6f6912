package modbus

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// rtuPeer is the pymodbus RTU server of testdata/rtupeer.py: units 1..3,
// holding register 0 = unit×100, register 1 counts the unit's reads.
type rtuPeer struct {
	dir string
	url string // the device URL gridbox uses
}

// python returns Debian's python3 when it can import pymodbus's serial server.
func python(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import pymodbus.server, serial_asyncio").Run() == nil {
			return p
		}
	}
	testenv.Missing(t, "python3 with pymodbus 3 and pyserial-asyncio (python3-pymodbus, python3-serial-asyncio)")
	return ""
}

// startRTUPeer starts the peer on one end of a socat pty pair (serial) or
// on a TCP port (RTU over TCP); both stop at test end.
func startRTUPeer(t *testing.T, serial bool) *rtuPeer {
	t.Helper()
	py := python(t)
	dir := t.TempDir()
	p := &rtuPeer{dir: dir}
	args := []string{filepath.Join("testdata", "rtupeer.py"), "--dir", dir}
	if serial {
		socat := testenv.Tool(t, "socat")
		a, b := filepath.Join(dir, "gridbox.tty"), filepath.Join(dir, "peer.tty")
		start(t, socat, "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
		waitFor(t, "socat pty pair", func() bool { return exists(a) && exists(b) })
		args = append(args, "--serial", b, "--baud", "115200")
		p.url = "rtu://" + a + "?baud=115200&parity=N&stop_bits=1"
	} else {
		addr := testenv.FreeAddr(t)
		args = append(args, "--tcp", addr)
		p.url = "rtuovertcp://" + addr
		defer waitFor(t, "RTU over TCP peer", func() bool {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	start(t, py, args...)
	waitFor(t, "peer ready", func() bool { return exists(filepath.Join(dir, "ready")) })
	return p
}

// start runs a peer process until the test ends.
func start(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	var out testenv.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// silence makes units stop answering (nothing is sent back at all).
func (p *rtuPeer) silence(t *testing.T, units ...int) {
	t.Helper()
	var b strings.Builder
	for _, u := range units {
		b.WriteString(strconv.Itoa(u) + "\n")
	}
	if err := os.WriteFile(filepath.Join(p.dir, "silent"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// requests returns the unit id of every request the peer received, in order.
func (p *rtuPeer) requests(t *testing.T) []int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(p.dir, "requests.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []int
	for _, l := range strings.Fields(string(data)) {
		u, _ := strconv.Atoi(l)
		out = append(out, u)
	}
	return out
}

func countUnit(reqs []int, unit int) int {
	n := 0
	for _, u := range reqs {
		if u == unit {
			n++
		}
	}
	return n
}

func TestRTUBusSerial(t *testing.T) { testRTUBus(t, true) }

func TestRTUBusOverTCP(t *testing.T) { testRTUBus(t, false) }

// testRTUBus polls three units on one bus every second; unit 3 falls
// silent. The other two keep getting a fresh value on every poll, unit 3
// costs the bus at most one request per poll cycle (counted at the peer),
// and nothing collides (no CRC or framing errors).
func testRTUBus(t *testing.T, serial bool) {
	peer := startRTUPeer(t, serial)
	drv := New()
	t.Cleanup(func() { drv.Close() })
	reg := prometheus.NewRegistry()
	sinks := map[int]*fakeSink{}
	for _, u := range []int{1, 2, 3} {
		c := testConfig("u"+strconv.Itoa(u), peer.url, u, []Register{
			{Name: "id", Address: 0, Type: "uint16"},
			{Name: "reads", Address: 1, Type: "uint16"},
		})
		// a generous timeout: a peer late beyond it (a loaded machine) would be a
		// timeout and its late answer a framing error of the next request
		c.Interval, c.Timeout = config.Duration(time.Second), config.Duration(800*time.Millisecond)
		c.Retries, c.Backoff = 2, config.Duration(500*time.Millisecond) // a timeout on a bus is not retried anyway
		sinks[u] = newSink()
		runDevice(t, newTestDevice(t, drv, c, driver.Env{Metrics: reg}), sinks[u])
	}
	for _, u := range []int{1, 2, 3} {
		waitFor(t, "first values of unit "+strconv.Itoa(u), func() bool {
			v, ok := sinks[u].value("id")
			return ok && v.Value == float64(u*100)
		})
	}
	peer.silence(t, 3)
	waitFor(t, "unit 3 offline", func() bool { return !sinks[3].state().Online && sinks[3].state().Device == "u3" })
	before, polls3 := peer.requests(t), sinks[3].pollCount()
	reads1, reads2 := readsOf(t, sinks[1]), readsOf(t, sinks[2])
	const cycles = 6
	testenv.Eventually(t, 60*time.Second, "six more polls of units 1 and 2", func() bool {
		return readsOf(t, sinks[1]) >= reads1+cycles && readsOf(t, sinks[2]) >= reads2+cycles
	})
	window := peer.requests(t)[len(before):]
	n1, n2, n3 := countUnit(window, 1), countUnit(window, 2), countUnit(window, 3)
	t.Logf("requests while unit 3 was silent: unit1=%d unit2=%d unit3=%d (in %d probes)", n1, n2, n3, sinks[3].pollCount()-polls3)
	if n3 > min(n1, n2)+1 {
		t.Errorf("silent unit 3 was tried %d times in %d poll cycles: want at most one try per cycle", n3, min(n1, n2))
	}
	probes := int(sinks[3].pollCount() - polls3)
	if n3 > probes+1 || n3 < 1 {
		t.Errorf("silent unit 3: %d requests in %d polls: want one request per poll (no retries while offline), and at least one probe", n3, probes)
	}
	for _, u := range []int{1, 2} {
		if st := sinks[u].state(); !st.Online || st.Errors != 0 {
			t.Errorf("unit %d: state %+v, want online without errors", u, st)
		}
	}
	for _, kind := range []string{"crc", "frame", "io", "busy"} {
		for _, d := range []string{"u1", "u2", "u3"} {
			if n := testutil.ToFloat64(newMetrics(reg).errors.WithLabelValues(d, kind)); n != 0 {
				t.Errorf("%s: %v %s errors, want none (no collisions on the bus)", d, n, kind)
			}
		}
	}
	if n := testutil.ToFloat64(newMetrics(reg).errors.WithLabelValues("u3", "timeout")); n < 1 {
		t.Errorf("u3: %v timeouts counted, want at least one", n)
	}
}

// readsOf is the last value of the peer's read counter that a sink got.
func readsOf(t *testing.T, s *fakeSink) int {
	t.Helper()
	v, ok := s.value("reads")
	if !ok {
		return 0
	}
	f, _ := v.Value.(float64)
	return int(f)
}
