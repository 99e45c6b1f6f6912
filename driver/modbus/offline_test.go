package modbus

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"github.com/simonvetter/modbus"
)

func TestProbeDelay(t *testing.T) {
	c := NewConfig()
	c.Interval, c.Backoff = config.Duration(time.Second), config.Duration(500*time.Millisecond)
	want := []time.Duration{0, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}
	for i, w := range want {
		if got := probeDelay(c, i+1); got != w {
			t.Errorf("after %d failed polls: %v, want %v", i+1, got, w)
		}
	}
	if got := probeDelay(c, 40); got != maxProbeDelay {
		t.Errorf("cap: %v, want %v", got, maxProbeDelay)
	}
	c.Interval = config.Duration(5 * time.Minute)
	if got := probeDelay(c, 40); got != 5*time.Minute {
		t.Errorf("cap with a long interval: %v, want the interval", got)
	}
}

func TestProber(t *testing.T) {
	var p prober
	c := NewConfig()
	now := time.Now()
	if !p.due(now) {
		t.Fatal("an online device is always due")
	}
	p.failed(now, c)
	p.failed(now, c) // second failure: next probe after backoff
	if p.due(now.Add(c.Backoff.D() / 2)) {
		t.Error("probed before the backoff passed")
	}
	if !p.due(now.Add(c.Backoff.D())) {
		t.Error("not probed after the backoff")
	}
	p.ok()
	if !p.due(now) || p.skipped() != 1 {
		t.Errorf("after recovery: due %v, skipped %d", p.due(now), p.skipped())
	}
}

func TestErrorKind(t *testing.T) {
	for err, want := range map[error]string{
		modbus.ErrBadCRC:                           "crc",
		fmt.Errorf("read: %w", modbus.ErrBadCRC):   "crc",
		modbus.ErrShortFrame:                       "frame",
		modbus.ErrRequestTimedOut:                  "timeout",
		modbus.ErrIllegalDataAddress:               "exception",
		fmt.Errorf("x: %w", errBusy):               "busy",
		fmt.Errorf("dial: %w", fmt.Errorf("boom")): "io",
	} {
		if got := errorKind(err); got != want {
			t.Errorf("errorKind(%v) = %s, want %s", err, got, want)
		}
	}
}

func TestRegCache(t *testing.T) {
	var c regCache
	c.put(holding, 10, []uint16{1, 2, 3}, nil)
	c.put(coil, 0, nil, []bool{true, false})
	if regs, _, ok := c.get(holding, 11, 2, time.Now().Add(-time.Minute)); !ok || regs[0] != 2 || regs[1] != 3 {
		t.Errorf("get 2@11: %v %v", regs, ok)
	}
	if _, _, ok := c.get(holding, 12, 2, time.Now().Add(-time.Minute)); ok {
		t.Error("a range beyond the cached registers was answered")
	}
	if _, _, ok := c.get(holding, 10, 1, time.Now().Add(time.Second)); ok {
		t.Error("a register older than max_age was answered")
	}
	if _, bits, ok := c.get(coil, 0, 2, time.Time{}); !ok || !bits[0] || bits[1] {
		t.Errorf("coils: %v %v", bits, ok)
	}
	c.drop(holding, 11, 1)
	if _, _, ok := c.get(holding, 10, 3, time.Time{}); ok {
		t.Error("a written register was answered from the cache")
	}
}

func TestProxyDatapoint(t *testing.T) {
	bit := uint8(0)
	fields, errs := compileRegisters([]Register{
		{Name: "setpoint", Address: 10, Type: "int16", Scale: 0.1, Meta: model.Meta{Kind: model.Actuator}},
		{Name: "limit", Address: 20, Type: "uint32", Meta: model.Meta{Kind: model.Actuator}},
		{Name: "flag", Address: 30, Type: "bool", Bit: &bit, Meta: model.Meta{Kind: model.Actuator}},
	}, "registers")
	if len(errs) > 0 {
		t.Fatal(config.Errors(errs))
	}
	d := newDevice(testConfig("d", "tcp://127.0.0.1:1", 1, nil), fields, nil, 1, slog.New(slog.DiscardHandler))
	cases := []struct {
		addr  uint16
		regs  []uint16
		name  string
		value any
		found bool
	}{
		{10, []uint16{215}, "setpoint", 21.5, true},
		{20, []uint16{1, 0}, "limit", 65536.0, true},
		{20, []uint16{1}, "", nil, false}, // half of a datapoint
		{30, []uint16{1}, "", nil, false}, // a bit field shares its register
		{40, []uint16{1}, "", nil, false},
	}
	for _, c := range cases {
		name, v, found, err := d.ProxyDatapoint("holding", c.addr, c.regs, nil)
		if err != nil || name != c.name || found != c.found || v != c.value {
			t.Errorf("write %v@%d: %q %v %v %v, want %q %v %v", c.regs, c.addr, name, v, found, err, c.name, c.value, c.found)
		}
	}
}
