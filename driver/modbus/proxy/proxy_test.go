package proxy_test

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver/modbus/modbustest"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/profile"
)

// meter is the device behind the proxy: a register-image server with a
// proxy in front that counts the TCP connections gridbox opens to it.
type meter struct {
	srv   *modbustest.Server
	sniff *modbustest.Sniffer
}

func startMeter(t *testing.T) *meter {
	t.Helper()
	srv, err := modbustest.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	srv.Unit(1).Set(modbustest.Holding, 0, 1234, 0x0001, 0x86A0, 7) // power, energy (100000), status
	srv.Unit(1).Set(modbustest.Holding, 10, 20)                     // setpoint
	srv.Unit(1).Set(modbustest.Input, 0, 2301, 2299, 2305)          // voltages
	sn, err := modbustest.Sniff(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sn.Close() })
	return &meter{srv: srv, sniff: sn}
}

// gatewayWithProxies runs a gateway polling the meter every 200 ms, with
// three proxies in front of it: plain, cached (max_age) and read-only.
func gatewayWithProxies(t *testing.T, m *meter) (*gateway.Gateway, [3]string) {
	t.Helper()
	var addrs [3]string
	for i := range addrs {
		addrs[i] = testenv.FreeAddr(t)
	}
	src := fmt.Sprintf(`http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q}
devices:
  - id: meter
    driver: modbus
    url: %q
    unit: 1
    interval: 200ms
    write_gap: 0s
    registers:
      - {name: power, address: 0, type: uint16, unit: W}
      - {name: energy, address: 1, type: uint32, unit: Wh}
      - {name: status, address: 3, type: uint16}
      - {name: setpoint, address: 10, type: uint16, kind: actuator, min: 0, max: 100}
      - {name: voltage, table: input, address: 0, type: uint16, scale: 0.1}
modbus_proxy:
  - {listen: %q, device: meter}
  - {listen: %q, device: meter, max_age: 1h, unit: 5}
  - {listen: %q, device: meter, read_only: true}
`, t.TempDir(), m.sniff.URL(), addrs[0], addrs[1], addrs[2])
	cfg, err := config.Parse([]byte(src), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	gw, err := gateway.New(cfg, gateway.Options{Version: "test", Profiles: profile.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := gw.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cancel()
			if err := gw.Wait(); err != nil {
				t.Errorf("gateway: %v", err)
			}
		})
	})
	return gw, addrs
}

// mbpoll runs mbpoll once against a proxy and returns its output.
func mbpoll(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	all := append([]string{"-m", "tcp", "-p", port, "-0", "-1", "-o", "5"}, args...)
	all = append(all[:len(all):len(all)], host)
	out, err := exec.Command(testenv.Tool(t, "mbpoll"), all...).CombinedOutput()
	return string(out), err
}

// mbpollWrite writes values with mbpoll (they come after the host).
func mbpollWrite(t *testing.T, addr string, args []string, values ...string) (string, error) {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	all := append([]string{"-m", "tcp", "-p", port, "-0", "-1", "-o", "5"}, args...)
	all = append(append(all, host), values...)
	out, err := exec.Command(testenv.Tool(t, "mbpoll"), all...).CombinedOutput()
	return string(out), err
}

var mbpollValue = regexp.MustCompile(`(?m)^\[(\d+)\]:\s+(-?\d+)`)

// values parses mbpoll's "[addr]: value" lines.
func values(t *testing.T, out string) map[int]int {
	t.Helper()
	got := map[int]int{}
	for _, m := range mbpollValue.FindAllStringSubmatch(out, -1) {
		a, _ := strconv.Atoi(m[1])
		v, _ := strconv.Atoi(m[2])
		got[a] = v
	}
	return got
}

func polls(gw *gateway.Gateway) uint64 {
	st, _ := gw.Bus().Device("meter")
	return st.Polls
}

// TestProxyWithMbpoll: mbpoll reads the registers the device holds through
// the proxy while gridbox polls it, over the one connection gridbox keeps
// to the device; a write outside the datapoint's limits, a write to an
// unmapped register and any write through a read-only proxy are refused
// with the exception mbpoll shows.
func TestProxyWithMbpoll(t *testing.T) {
	testenv.Tool(t, "mbpoll")
	m := startMeter(t)
	gw, addrs := gatewayWithProxies(t, m)
	testenv.Eventually(t, 10*time.Second, "gridbox polling", func() bool { return polls(gw) >= 2 })

	for round := 0; round < 3; round++ {
		before := polls(gw)
		out, err := mbpoll(t, addrs[0], "-a", "1", "-t", "4", "-r", "0", "-c", "4")
		if err != nil {
			t.Fatalf("mbpoll read: %v\n%s", err, out)
		}
		want := m.srv.Unit(1).Get(modbustest.Holding, 0, 4)
		got := values(t, out)
		for i, w := range want {
			if got[i] != int(w) {
				t.Fatalf("mbpoll holding[%d] = %d, device holds %d\n%s", i, got[i], w, out)
			}
		}
		testenv.Eventually(t, 10*time.Second, "gridbox still polling", func() bool { return polls(gw) > before })
	}
	out, err := mbpoll(t, addrs[0], "-a", "1", "-t", "3", "-r", "0", "-c", "3")
	if got := values(t, out); err != nil || got[0] != 2301 || got[2] != 2305 {
		t.Fatalf("mbpoll input registers: %v %v\n%s", got, err, out)
	}

	// a write within the limits goes through the bus to the device
	if out, err := mbpollWrite(t, addrs[0], []string{"-a", "1", "-t", "4", "-r", "10"}, "42"); err != nil {
		t.Fatalf("mbpoll write 42: %v\n%s", err, out)
	}
	if got := m.srv.Unit(1).Get(modbustest.Holding, 10, 1)[0]; got != 42 {
		t.Fatalf("device setpoint = %d after the proxied write of 42", got)
	}
	refused := []struct {
		what, addr string
		reg, value string
		exception  string
	}{
		{"outside the limits (max 100)", addrs[0], "10", "150", "Illegal data value"},
		{"to an unmapped register", addrs[0], "5", "1", "Illegal data address"},
		{"through a read-only proxy", addrs[2], "10", "50", "Illegal function"},
	}
	for _, c := range refused {
		out, err := mbpollWrite(t, c.addr, []string{"-a", "1", "-t", "4", "-r", c.reg}, c.value)
		if err == nil || !strings.Contains(out, c.exception) {
			t.Errorf("write %s: mbpoll (err %v) printed\n%s\nwant the exception %q", c.what, err, out, c.exception)
		}
		if got := m.srv.Unit(1).Get(modbustest.Holding, 10, 1)[0]; got != 42 {
			t.Fatalf("write %s reached the device: setpoint = %d", c.what, got)
		}
	}
	if got := m.srv.Unit(1).Get(modbustest.Holding, 5, 1)[0]; got != 0 {
		t.Errorf("unmapped write reached the device: holding 5 = %d", got)
	}

	// the cached proxy answers unit 5 only, from the poller's reads
	if out, err := mbpoll(t, addrs[1], "-a", "1", "-t", "4", "-r", "0", "-c", "1"); err == nil || !strings.Contains(out, "Gateway path unavailable") {
		t.Errorf("unit 1 on a proxy for unit 5: mbpoll (err %v) printed\n%s", err, out)
	}
	requests := m.srv.Requests()
	out, err = mbpoll(t, addrs[1], "-a", "5", "-t", "4", "-r", "0", "-c", "4")
	if got := values(t, out); err != nil || got[0] != 1234 || got[2] != 0x86A0 {
		t.Fatalf("cached read: %v %v\n%s", got, err, out)
	}
	metrics := "http://" + gw.HTTPAddr() + "/metrics"
	series := `gridbox_modbus_proxy_requests_total{client="127.0.0.1",op="read",result="cached",sink="modbus_proxy-2"}`
	if n := testenv.Metric(t, metrics, series); n != 1 {
		t.Errorf("%s = %v, want 1 (requests before: %d, after: %d)", series, n, requests, m.srv.Requests())
	}
	for _, s := range []string{
		`gridbox_modbus_proxy_requests_total{client="127.0.0.1",op="read",result="forwarded",sink="modbus_proxy"}`,
		`gridbox_modbus_proxy_requests_total{client="127.0.0.1",op="write",result="refused",sink="modbus_proxy"}`,
		`gridbox_modbus_proxy_requests_total{client="127.0.0.1",op="write",result="written",sink="modbus_proxy"}`,
	} {
		if n := testenv.Metric(t, metrics, s); n < 1 {
			t.Errorf("%s = %v, want ≥ 1", s, n)
		}
	}
	if n := m.sniff.Conns(); n != 1 {
		t.Errorf("the device saw %d TCP connections, want exactly one (gridbox's)", n)
	}
}

// TestProxyDeviceOffline: while gridbox has the device offline, mbpoll gets
// exception 0B (gateway target failed to respond) through the proxy.
func TestProxyDeviceOffline(t *testing.T) {
	testenv.Tool(t, "mbpoll")
	listen := testenv.FreeAddr(t)
	src := fmt.Sprintf(`http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q}
devices:
  - {id: meter, driver: modbus, url: "tcp://%s", interval: 200ms, timeout: 200ms, retries: 0, registers: [{name: p, address: 0, type: uint16}]}
modbus_proxy:
  - {listen: %q, device: meter}
`, t.TempDir(), testenv.FreeAddr(t), listen)
	cfg, err := config.Parse([]byte(src), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(cfg, gateway.Options{Version: "test", Profiles: profile.Builtin()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := gw.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = gw.Wait() })
	testenv.Eventually(t, 10*time.Second, "device offline", func() bool {
		st, _ := gw.Bus().Device("meter")
		return st.Polls > 0 && !st.Online
	})
	out, err := mbpoll(t, listen, "-a", "1", "-t", "4", "-r", "0")
	if err == nil || !strings.Contains(out, "Target device failed to respond") {
		t.Errorf("mbpoll through the proxy of an offline device (err %v):\n%s", err, out)
	}
}
