package sunspec_test

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridbox/gridbox/internal/testenv"
	"github.com/gridbox/gridbox/model"
)

// mbpollRegs reads n holding registers from the 0-based reg (-0) with mbpoll,
// an independent Modbus master, and returns them.
func mbpollRegs(t *testing.T, addr string, reg, n int) []int {
	t.Helper()
	mbpoll := testenv.Tool(t, "mbpoll")
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command(mbpoll, "-m", "tcp", "-a", "1", "-r", strconv.Itoa(reg), "-c", strconv.Itoa(n),
		"-t", "4", "-0", "-1", "-p", port, host).CombinedOutput()
	if err != nil {
		t.Fatalf("mbpoll: %v\n%s", err, out)
	}
	var vals []int
	for _, line := range strings.Split(string(out), "\n") {
		if _, v, ok := strings.Cut(line, "]:"); ok && strings.HasPrefix(strings.TrimSpace(line), "[") {
			n, err := strconv.Atoi(strings.Fields(v)[0])
			if err != nil {
				t.Fatalf("mbpoll line %q", line)
			}
			vals = append(vals, n)
		}
	}
	if len(vals) != n {
		t.Fatalf("mbpoll gave %d registers, want %d:\n%s", len(vals), n, out)
	}
	return vals
}

// TestFroniusGEN24PowerLimit: on the GEN24 layout (sunspec-float), writing
// w_max_lim_pct = 50 sets WMaxLimPct (40242) to 5000 (scale factor -2) and
// WMaxLim_Ena (40246) to 1 in one write; mbpoll sees both, the read-back
// value is 50.
func TestFroniusGEN24PowerLimit(t *testing.T) {
	s := startSim(t, "sunspec-float")
	rec := newRecorder()
	dev := runDevice(t, testConfig("fronius", s.Addr()), rec)
	waitValue(t, rec, "fronius/w_max_lim_pct")
	if got := mbpollRegs(t, s.Addr(), 40242, 5); got[0] != 10000 || got[4] != 0 {
		t.Fatalf("before the write: %v", got)
	}
	got, err := dev.Write(context.Background(), "w_max_lim_pct", 50.0)
	if err != nil || got != 50.0 {
		t.Fatalf("write: %v, %v", got, err)
	}
	if regs := mbpollRegs(t, s.Addr(), 40242, 5); regs[0] != 5000 || regs[4] != 1 {
		t.Fatalf("after the write 40242..40246 = %v, want 5000 … 1", regs)
	}
	if got, err := dev.Write(context.Background(), "w_max_lim_ena", 0.0); err != nil || got != 0.0 {
		t.Fatalf("disable: %v, %v", got, err)
	}
	if regs := mbpollRegs(t, s.Addr(), 40242, 5); regs[0] != 5000 || regs[4] != 0 {
		t.Fatalf("after disabling 40242..40246 = %v, want 5000 … 0", regs)
	}
	if _, err := dev.Write(context.Background(), "ac_power", 1.0); err == nil {
		t.Fatal("a sensor took a write")
	}
}

// TestDERPowerLimitAndStorage: model 704's limit is written with its
// enable; model 124's charge limit of the integer device too.
func TestDERPowerLimitAndStorage(t *testing.T) {
	s := startSim(t, "sunspec-der")
	rec := newRecorder()
	dev := runDevice(t, testConfig("der", s.Addr()), rec)
	waitValue(t, rec, "der/w_max_lim_pct")
	// The marker is at 40001 (off by one); the 7xx and 802 models decode.
	for key, want := range map[string]any{"der/ac_power": 5000.0, "der/battery_power": 2000.0, "der/battery_soc": 79.5,
		"der/frequency": 50.0, "der/voltage": 230.0, "der/energy_total": 7654321.0, "der/serial_number": "DER0001"} {
		if v := waitValue(t, rec, key); v.Value != want {
			t.Errorf("%s = %v, want %v", key, v.Value, want)
		}
	}
	for key, role := range map[string]string{"der/ac_power": "pv_power", "der/battery_power": "battery_power", "der/battery_soc": "battery_soc"} {
		if p, _ := rec.point(key); p.Role != role {
			t.Errorf("%s role %q, want %s", key, p.Role, role)
		}
	}
	if got, err := dev.Write(context.Background(), "w_max_lim_pct", 60.0); err != nil || got != 60.0 {
		t.Fatalf("write 704: %v, %v", got, err)
	}
	testenv.Eventually(t, 10*time.Second, "enable read by the next poll", func() bool {
		v, _ := rec.value("der/w_max_lim_pct_ena")
		return v.Value == 1.0
	})

	s2 := startSim(t, "sunspec-int")
	rec2 := newRecorder()
	dev2 := runDevice(t, testConfig("inv", s2.Addr()), rec2)
	waitValue(t, rec2, "inv/battery_w_cha_max")
	if got, err := dev2.Write(context.Background(), "battery_w_cha_max", 2500.0); err != nil || got != 2500.0 {
		t.Fatalf("write 124 WChaMax: %v, %v", got, err)
	}
	if got, err := dev2.Write(context.Background(), "battery_in_w_rte", -20.5); err != nil || got != -20.5 {
		t.Fatalf("write 124 InWRte: %v, %v", got, err)
	}
	p, _ := rec2.point("inv/battery_stor_ctl_mod")
	if p.Kind != model.Actuator || len(p.Allowed) != 4 {
		t.Errorf("stor_ctl_mod meta %+v", p.Meta)
	}
	// The meter behind the inverter is a device of its own; its writer refuses sensors.
	rec2.mu.Lock()
	w := rec2.writers["inv_2"]
	rec2.mu.Unlock()
	if w == nil {
		t.Fatal("no writer for inv_2")
	}
	if _, err := w.Write(context.Background(), "ac_power", 1.0); err == nil {
		t.Fatal("inv_2/ac_power took a write")
	}
}
