package sim

import (
	"context"
	"errors"
	"io"
	"log"
	"testing"
	"time"

	"github.com/simonvetter/modbus"
)

// startTest starts simulator name on a free loopback port without the
// ticker (tests call step) and closes it at test end.
func startTest(t *testing.T, name string) *Server {
	t.Helper()
	s, err := start(context.Background(), name, "127.0.0.1:0", 0, nil, 0)
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// dial connects a Modbus TCP client to addr as unit and closes it at test end.
func dial(t *testing.T, addr string, unit uint8) *modbus.ModbusClient {
	t.Helper()
	c, err := modbus.NewClient(&modbus.ClientConfiguration{
		URL:     "tcp://" + addr,
		Timeout: 10 * time.Second,
		Logger:  log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	if err := c.SetUnitId(unit); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readRegs reads qty registers or fails the test.
func readRegs(t *testing.T, c *modbus.ModbusClient, addr, qty uint16, rt modbus.RegType) []uint16 {
	t.Helper()
	regs, err := c.ReadRegisters(addr, qty, rt)
	if err != nil {
		t.Fatalf("read %d@%d: %v", qty, addr, err)
	}
	return regs
}

// wantErr fails unless err is want.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

// eventually polls cond every 50 ms until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}
