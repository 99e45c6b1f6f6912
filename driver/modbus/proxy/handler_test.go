package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/simonvetter/modbus"
)

// fakeUp is an Upstream over a register map; setpoint at holding 10.
type fakeUp struct {
	regs    map[uint16]uint16
	err     error // returned by reads and raw writes
	cached  bool
	written []uint16
}

func (f *fakeUp) ProxyRead(_ context.Context, table string, addr, count uint16, maxAge time.Duration) ([]uint16, []bool, bool, error) {
	if f.err != nil {
		return nil, nil, false, f.err
	}
	out := make([]uint16, count)
	for i := range out {
		out[i] = f.regs[addr+uint16(i)]
	}
	return out, nil, f.cached && maxAge > 0, nil
}

func (f *fakeUp) ProxyWrite(_ context.Context, table string, addr uint16, regs []uint16, bits []bool) error {
	if f.err != nil {
		return f.err
	}
	f.written = append(f.written, regs...)
	return nil
}

func (f *fakeUp) ProxyDatapoint(table string, addr uint16, regs []uint16, bits []bool) (string, any, bool, error) {
	if table == "holding" && addr == 10 && len(regs) == 1 {
		return "setpoint", float64(regs[0]), true, nil
	}
	return "", nil, false, nil
}

// fakeBus applies the limits 0..100 of the setpoint like the bus.
type fakeBus struct {
	err    error
	writes []any
}

func (b *fakeBus) Write(_ context.Context, device, name string, v any) (any, error) {
	if b.err != nil {
		return nil, b.err
	}
	if f := v.(float64); f > 100 {
		return nil, &bus.InvalidError{Err: &model.RangeError{}}
	}
	b.writes = append(b.writes, v)
	return v, nil
}

func newHandler(cfg *Config, up *fakeUp, b *fakeBus) (*handler, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	return &handler{ctx: context.Background(), cfg: cfg, up: up, bus: b, log: discard(), m: newMetrics(reg)}, reg
}

func holdingWrite(addr uint16, v ...uint16) *modbus.HoldingRegistersRequest {
	return &modbus.HoldingRegistersRequest{ClientAddr: "10.0.0.7:40000", UnitId: 1, Addr: addr, Quantity: uint16(len(v)), IsWrite: true, Args: v}
}

func TestWrites(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(*Config)
		req  *modbus.HoldingRegistersRequest
		bus  error
		want error
	}{
		{"within limits", nil, holdingWrite(10, 42), nil, nil},
		{"outside limits", nil, holdingWrite(10, 150), nil, modbus.ErrIllegalDataValue},
		{"rate limited", nil, holdingWrite(10, 42), &bus.InvalidError{Err: bus.ErrRateLimited}, modbus.ErrServerDeviceBusy},
		{"device timeout", nil, holdingWrite(10, 42), modbus.ErrRequestTimedOut, modbus.ErrGWTargetFailedToRespond},
		{"device exception", nil, holdingWrite(10, 42), fmt.Errorf("write: %w", modbus.ErrIllegalDataAddress), modbus.ErrIllegalDataAddress},
		{"read back differs", nil, holdingWrite(10, 42), errors.New("setpoint: read back 30, wrote 42"), modbus.ErrServerDeviceFailure},
		{"unmapped", nil, holdingWrite(5, 1), nil, modbus.ErrIllegalDataAddress},
		{"unmapped allowed", func(c *Config) { c.AllowUnmappedWrites = true }, holdingWrite(5, 1), nil, nil},
		{"read only", func(c *Config) { c.ReadOnly = true }, holdingWrite(10, 42), nil, modbus.ErrIllegalFunction},
		{"other unit", func(c *Config) { u := 3; c.Unit = &u }, holdingWrite(10, 42), nil, modbus.ErrGWPathUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := NewConfig()
			if c.cfg != nil {
				c.cfg(cfg)
			}
			up, b := &fakeUp{}, &fakeBus{err: c.bus}
			h, _ := newHandler(cfg, up, b)
			_, err := h.HandleHoldingRegisters(c.req)
			if err != c.want { // the server maps only the bare modbus.Error values to their codes
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if c.want != nil && (len(b.writes) > 0 || len(up.written) > 0) {
				t.Errorf("refused write reached the device: %v %v", b.writes, up.written)
			}
		})
	}
}

func TestReadsAndCounts(t *testing.T) {
	cfg := NewConfig()
	cfg.MaxAge = config.Duration(time.Minute)
	up := &fakeUp{regs: map[uint16]uint16{0: 7, 1: 8}, cached: true}
	h, _ := newHandler(cfg, up, &fakeBus{})
	got, err := h.HandleHoldingRegisters(&modbus.HoldingRegistersRequest{ClientAddr: "10.0.0.7:1", UnitId: 9, Addr: 0, Quantity: 2})
	if err != nil || len(got) != 2 || got[0] != 7 || got[1] != 8 {
		t.Fatalf("read: %v %v", got, err)
	}
	up.err = modbus.ErrRequestTimedOut
	if _, err := h.HandleInputRegisters(&modbus.InputRegistersRequest{ClientAddr: "10.0.0.7:2", UnitId: 1, Quantity: 1}); err != modbus.ErrGWTargetFailedToRespond {
		t.Errorf("timeout read: %v", err)
	}
	if n := testutil.ToFloat64(h.m.requests.WithLabelValues("10.0.0.7", "read", "cached")); n != 1 {
		t.Errorf("cached reads of 10.0.0.7: %v", n)
	}
	if n := testutil.ToFloat64(h.m.requests.WithLabelValues("10.0.0.7", "read", "error")); n != 1 {
		t.Errorf("failed reads of 10.0.0.7: %v", n)
	}
}

func TestClientLabelBounded(t *testing.T) {
	m := newMetrics(nil)
	for i := range maxClients + 10 {
		m.count(fmt.Sprintf("10.0.%d.1:5000", i), "read", "forwarded")
	}
	if got := m.host("10.0.200.1:1"); got != "other" {
		t.Errorf("host beyond the cap = %q, want other", got)
	}
	if got := m.host("10.0.0.1:9"); got != "10.0.0.1" {
		t.Errorf("known host = %q", got)
	}
	if n := testutil.CollectAndCount(m.requests); n != maxClients+1 {
		t.Errorf("%d series, want %d", n, maxClients+1)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
