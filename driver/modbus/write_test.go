package modbus

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus/modbustest"

	"github.com/gridbox/gridbox/model"
)

// bitRegs are two bit datapoints of holding register 40: bit 0 as a bool,
// bit 1 as a 0/1 integer.
var bitRegs = []Register{
	{Name: "bit0", Address: 40, Type: "bool", Bit: u8(0), Meta: model.Meta{Kind: "actuator"}},
	{Name: "bit1", Address: 40, Type: "uint16", Bit: u8(1), Meta: model.Meta{Kind: "actuator"}},
}

// raceBitWrites runs rounds of two concurrent writes, bit0 through w0 and
// bit1 through w1, released at the same instant. Even rounds start from
// 0x8000 and set both bits, odd rounds start from 0x8003 and clear both;
// after each round register 40 must hold exactly the expected value (bit 15
// is never written and must survive) and both writes must have succeeded.
func raceBitWrites(t *testing.T, im *modbustest.Image, w0, w1 *Device, rounds int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lost := 0
	for i := range rounds {
		set := i%2 == 0
		from, want := uint16(0x8003), uint16(0x8000)
		v0, v1 := any(false), any(0.0)
		if set {
			from, want = 0x8000, 0x8003
			v0, v1 = true, 1.0
		}
		im.Set(modbustest.Holding, 40, from)
		start := make(chan struct{})
		var wg sync.WaitGroup
		var err0, err1 error
		var got0, got1 any
		wg.Go(func() { <-start; got0, err0 = w0.Write(ctx, "bit0", v0) })
		wg.Go(func() { <-start; got1, err1 = w1.Write(ctx, "bit1", v1) })
		close(start)
		wg.Wait()
		reg := im.Get(modbustest.Holding, 40, 1)[0]
		if reg != want || err0 != nil || err1 != nil || got0 != v0 || got1 != v1 {
			lost++
			if lost <= 3 {
				t.Errorf("round %d: 0x%04X -> bit0=%v, bit1=%v: register 0x%04X, want 0x%04X; bit0 returned %v, %v; bit1 returned %v, %v",
					i, from, v0, v1, reg, want, got0, err0, got1, err1)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d rounds lost a bit write", lost, rounds)
	}
}

// TestBitWritesAtomic: two goroutines write two bits of one register of one
// device at once; both changes must survive every time.
func TestBitWritesAtomic(t *testing.T) {
	srv := startServer(t)
	drv := New()
	defer drv.Close()
	dev := newTestDevice(t, drv, testConfig("d", srv.URL(), 1, bitRegs), driver.Env{})
	raceBitWrites(t, srv.Unit(1), dev, dev, 50)
	if n := dev.conn.regs.entries(); n != 0 {
		t.Errorf("%d register locks left after the writes, want 0", n)
	}
}

// TestBitWritesAtomicSharedConnection: two devices configured on the same
// URL and unit (so one connection) each write one bit of the same register.
func TestBitWritesAtomicSharedConnection(t *testing.T) {
	srv := startServer(t)
	drv := New()
	defer drv.Close()
	d0 := newTestDevice(t, drv, testConfig("d0", srv.URL(), 1, bitRegs), driver.Env{})
	d1 := newTestDevice(t, drv, testConfig("d1", srv.URL(), 1, bitRegs), driver.Env{})
	if d0.conn != d1.conn {
		t.Fatal("devices behind one URL do not share the connection")
	}
	raceBitWrites(t, srv.Unit(1), d0, d1, 50)
}

// TestWriteLockScope: while register 40 of unit 1 is locked, a write to it
// waits (and gives up with its context), but writes to register 41, to
// register 40 of unit 2 on the same connection, to coil 40 and to register
// 40 behind another connection go through.
func TestWriteLockScope(t *testing.T) {
	srv := startServer(t)
	other := startServer(t)
	srv.Unit(2)
	drv := New()
	defer drv.Close()
	regs := append([]Register{
		{Name: "next", Address: 41, Type: "uint16", Meta: model.Meta{Kind: "actuator"}},
		{Name: "relay", Table: "coil", Address: 40, Meta: model.Meta{Kind: "actuator"}},
	}, bitRegs...)
	d1 := newTestDevice(t, drv, testConfig("d1", srv.URL(), 1, regs), driver.Env{})
	d2 := newTestDevice(t, drv, testConfig("d2", srv.URL(), 2, regs), driver.Env{})
	d3 := newTestDevice(t, drv, testConfig("d3", other.URL(), 1, regs), driver.Env{})

	unlock, err := d1.conn.regs.lock(context.Background(), 1, holding, 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, w := range []struct {
		dev  *Device
		name string
		v    any
	}{{d1, "next", 7.0}, {d1, "relay", true}, {d2, "bit0", true}, {d3, "bit0", true}} {
		if _, err := w.dev.Write(ctx, w.name, w.v); err != nil {
			t.Errorf("%s %s while unit 1 holding 40 is locked: %v", w.dev.id, w.name, err)
		}
	}
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	_, err = d1.Write(short, "bit1", 1.0)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for another write to unit 1 holding 40") {
		t.Errorf("write to the locked register: %v, want a wait that gives up", err)
	}
	if r := srv.Unit(1).Get(modbustest.Holding, 40, 1)[0]; r != 0 {
		t.Errorf("locked register was written: 0x%04X", r)
	}
	unlock()
	if _, err := d1.Write(ctx, "bit1", 1.0); err != nil {
		t.Errorf("write after unlock: %v", err)
	}
	if n := d1.conn.regs.entries(); n != 0 {
		t.Errorf("%d register locks left, want 0", n)
	}
}

// TestRegisterLocks: overlapping ranges exclude each other, a wait that
// gives up releases what it took, and entries are freed when unused.
func TestRegisterLocks(t *testing.T) {
	var l registerLocks
	bg := context.Background()
	try := func(unit uint8, tb table, addr, n uint16) error {
		ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
		defer cancel()
		unlock, err := l.lock(ctx, unit, tb, addr, n)
		if err == nil {
			unlock()
		}
		return err
	}
	// A 32-bit field at 30..31.
	unlock, err := l.lock(bg, 1, holding, 30, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		unit     uint8
		tb       table
		addr, n  uint16
		wantBusy bool
	}{
		{1, holding, 31, 1, true},
		{1, holding, 29, 2, true},
		{1, holding, 28, 4, true},
		{1, holding, 32, 1, false},
		{1, holding, 28, 2, false},
		{2, holding, 30, 2, false},
		{1, coil, 30, 2, false},
	} {
		err := try(c.unit, c.tb, c.addr, c.n)
		if busy := err != nil; busy != c.wantBusy {
			t.Errorf("lock unit %d %s %d+%d while unit 1 holding 30+2 is held: err %v, want busy %v", c.unit, c.tb, c.addr, c.n, err, c.wantBusy)
		}
	}
	// A failed wait for 29..31 must have released 29 again.
	if err := try(1, holding, 29, 1); err != nil {
		t.Errorf("29 still locked after a failed wait for 29..31: %v", err)
	}
	if n := l.entries(); n != 2 {
		t.Errorf("%d entries while 30..31 are held, want 2", n)
	}
	unlock()
	if n := l.entries(); n != 0 {
		t.Errorf("%d entries after unlock, want 0", n)
	}

	// Many goroutines incrementing a counter under one register's lock.
	var wg sync.WaitGroup
	counter := 0
	for range 100 {
		wg.Go(func() {
			unlock, err := l.lock(bg, 1, holding, 7, 1)
			if err != nil {
				t.Error(err)
				return
			}
			c := counter
			time.Sleep(10 * time.Microsecond)
			counter = c + 1
			unlock()
		})
	}
	wg.Wait()
	if counter != 100 || l.entries() != 0 {
		t.Errorf("counter %d (want 100), %d entries left (want 0)", counter, l.entries())
	}
}

// entries returns how many registers have a lock entry.
func (l *registerLocks) entries() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
