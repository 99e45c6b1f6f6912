package modbus

import (
	"context"
	"fmt"
	"sync"
)

// regKey names one register (or coil) behind a connection: the connection
// itself is the owner of the registerLocks the key is used in.
type regKey struct {
	unit  uint8
	table table
	addr  uint16
}

// regLock is one register's lock: a one-slot semaphore, so that waiting for
// it can give up when the write's context ends. refs counts holders and
// waiters; the entry is removed from the map when it drops to zero.
type regLock struct {
	sem  chan struct{}
	refs int
}

// registerLocks serialises writes per register of one connection, so that
// the read-modify-write of a bit field (read the register, change the
// field's bits, write it back, read it back) is atomic against every other
// write through gridbox to that register: two writes to two bits of one
// register both survive. Writes to other registers, units or tables take
// other locks and run concurrently (their requests still take turns on the
// connection). Only registers being written have an entry. The zero value
// is ready to use.
type registerLocks struct {
	mu sync.Mutex
	m  map[regKey]*regLock
}

// lock takes the locks of registers addr..addr+n-1 of one unit and table,
// in address order (so writes of overlapping fields cannot deadlock), and
// returns the function that releases them. When ctx ends first, the locks
// taken so far are released and the error says which register was busy.
func (l *registerLocks) lock(ctx context.Context, unit uint8, t table, addr, n uint16) (unlock func(), err error) {
	held := make([]regKey, 0, n)
	unlock = func() {
		for i := len(held) - 1; i >= 0; i-- {
			l.release(held[i])
		}
	}
	for i := range int(n) {
		k := regKey{unit: unit, table: t, addr: addr + uint16(i)}
		if err := l.acquire(ctx, k); err != nil {
			unlock()
			return nil, err
		}
		held = append(held, k)
	}
	return unlock, nil
}

func (l *registerLocks) acquire(ctx context.Context, k regKey) error {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[regKey]*regLock{}
	}
	e, ok := l.m[k]
	if !ok {
		e = &regLock{sem: make(chan struct{}, 1)}
		l.m[k] = e
	}
	e.refs++
	l.mu.Unlock()
	select {
	case e.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		l.unref(k, e)
		return fmt.Errorf("waiting for another write to unit %d %s %d: %w", k.unit, k.table, k.addr, ctx.Err())
	}
}

func (l *registerLocks) release(k regKey) {
	l.mu.Lock()
	e := l.m[k]
	l.mu.Unlock()
	<-e.sem
	l.unref(k, e)
}

func (l *registerLocks) unref(k regKey, e *regLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.refs--; e.refs == 0 {
		delete(l.m, k)
	}
}
