// Package scan finds Modbus TCP devices: it connects to each endpoint of
// a target list, asks every unit id of a range for a register, tells
// SunSpec devices and devices of a built-in profile apart, and writes a
// `devices:` list that a gridbox config accepts (`gridbox scan`).
package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridbox/gridbox/driver"
	"github.com/simonvetter/modbus"
)

// Options are a scan's settings.
type Options struct {
	Units       []uint8              // unit ids to ask; default 1..247
	Timeout     time.Duration        // connect and per-request timeout; default 500ms
	Concurrency int                  // endpoints scanned at once; default 32
	Profiles    driver.ProfileSource // built-in profiles to match; nil: none
	Names       []string             // the profile names to try
	Progress    func(p Progress)     // called as endpoints finish; may be nil
}

// Progress is the state of a running scan.
type Progress struct {
	Done, Total int     // endpoints
	Answering   int     // endpoints that accepted a connection
	Units       int     // units found so far
	Endpoint    string  // the endpoint just finished
	Found       []uint8 // its units
	Err         error   // why it was not scanned (connection refused, timeout)
}

// Unit is one unit id that answered.
type Unit struct {
	Endpoint string   // host:port
	ID       uint8    // unit id
	Answer   string   // what the presence probe got: "holding 0 = 0x1234" or "holding 0: exception illegal data address"
	SunSpec  int      // base address of the "SunS" marker, -1 without
	Profiles []string // built-in profiles whose every register answered
	// EveryUnit is set when the endpoint answered every unit id asked (more
	// than two): it ignores the unit id, and only the first is reported.
	EveryUnit bool
	// AnswersAll is set for a unit that answers unused addresses with data
	// (holding and input 65534): a profile match would mean nothing.
	AnswersAll bool
	Probe      *Probe // a register that answered with data, when no profile matched
}

// Probe is one register that answered.
type Probe struct {
	Table   string // holding or input
	Address uint16
	Value   uint16
}

const (
	DefaultTimeout     = 500 * time.Millisecond
	DefaultConcurrency = 32
)

// Scan scans every endpoint, at most opts.Concurrency at once, and returns
// the units that answered, in endpoint order then unit order.
func Scan(ctx context.Context, endpoints []string, opts Options) []Unit {
	opts = withDefaults(opts)
	results := make([][]Unit, len(endpoints))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	p := Progress{Total: len(endpoints)}
	var answering atomic.Int64
	for range min(opts.Concurrency, len(endpoints)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				units, err := scanEndpoint(ctx, endpoints[i], opts)
				results[i] = units
				if err == nil {
					answering.Add(1)
				}
				mu.Lock()
				p.Done++
				p.Answering = int(answering.Load())
				p.Units += len(units)
				p.Endpoint, p.Err, p.Found = endpoints[i], err, ids(units)
				if opts.Progress != nil {
					opts.Progress(p)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range endpoints {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	var out []Unit
	for _, r := range results {
		out = append(out, r...)
	}
	return out
}

func withDefaults(o Options) Options {
	if len(o.Units) == 0 {
		for u := 1; u <= 247; u++ {
			o.Units = append(o.Units, uint8(u))
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	return o
}

func ids(units []Unit) []uint8 {
	out := make([]uint8, len(units))
	for i, u := range units {
		out[i] = u.ID
	}
	return out
}

// scanEndpoint connects to ep and asks every unit; an error means the
// endpoint did not accept a connection.
func scanEndpoint(ctx context.Context, ep string, opts Options) ([]Unit, error) {
	c, err := modbus.NewClient(&modbus.ClientConfiguration{
		URL: "tcp://" + ep, Timeout: opts.Timeout, Logger: log.New(io.Discard, "", 0),
	})
	if err != nil {
		return nil, err
	}
	if err := c.Open(); err != nil {
		return nil, err
	}
	defer c.Close()
	cl := &client{c: c}
	type found struct {
		id     uint8
		answer string
	}
	var present []found
	for _, id := range opts.Units {
		if ctx.Err() != nil {
			break
		}
		answer, ok := cl.present(id)
		if cl.broken {
			if c.Close(); c.Open() != nil {
				break // the endpoint went away mid-scan
			}
			cl.broken = false
		}
		if ok {
			present = append(present, found{id, answer})
		}
	}
	// A device that ignores the unit id answers every one: keep the first.
	everyUnit := len(opts.Units) > 2 && len(present) == len(opts.Units)
	if everyUnit {
		present = present[:1]
	}
	units := make([]Unit, 0, len(present))
	for _, f := range present {
		if ctx.Err() != nil {
			break
		}
		u := identify(cl, ep, f.id, f.answer, opts)
		u.EveryUnit = everyUnit
		units = append(units, u)
	}
	return units, nil
}

// client is a connection with the scan's view of answers.
type client struct {
	c      *modbus.ModbusClient
	broken bool // the last request failed below Modbus (connection lost)
}

// read reads qty registers of a table ("holding" or "input") of unit id.
func (cl *client) read(id uint8, table string, addr, qty uint16) ([]uint16, error) {
	if err := cl.c.SetUnitId(id); err != nil {
		return nil, err
	}
	t := modbus.HOLDING_REGISTER
	if table == "input" {
		t = modbus.INPUT_REGISTER
	}
	regs, err := cl.c.ReadRegisters(addr, qty, t)
	if err != nil && !isException(err) && !errors.Is(err, modbus.ErrRequestTimedOut) {
		cl.broken = true
	}
	return regs, err
}

// readBits reads one coil or discrete input.
func (cl *client) readBits(id uint8, table string, addr, qty uint16) error {
	if err := cl.c.SetUnitId(id); err != nil {
		return err
	}
	var err error
	if table == "coil" {
		_, err = cl.c.ReadCoils(addr, qty)
	} else {
		_, err = cl.c.ReadDiscreteInputs(addr, qty)
	}
	return err
}

// present asks unit id for holding register 0. Data or an exception means
// the unit is there — except the gateway exceptions 10 and 11, with which
// a Modbus TCP gateway (or a device answering only its own id) says that
// no such unit answered.
func (cl *client) present(id uint8) (string, bool) {
	regs, err := cl.read(id, "holding", 0, 1)
	switch {
	case err == nil:
		return fmt.Sprintf("holding 0 = 0x%04x", regs[0]), true
	case isException(err):
		return "holding 0: exception " + err.Error(), true
	}
	return "", false
}

// isException reports whether err is a Modbus exception answer from the unit itself.
func isException(err error) bool {
	for _, e := range []error{modbus.ErrIllegalFunction, modbus.ErrIllegalDataAddress, modbus.ErrIllegalDataValue,
		modbus.ErrServerDeviceFailure, modbus.ErrAcknowledge, modbus.ErrServerDeviceBusy, modbus.ErrMemoryParityError} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
