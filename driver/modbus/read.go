package modbus

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/simonvetter/modbus"
)

// SpecSyntax describes the URL and SPEC forms ReadOnce accepts, for the
// help text of `gridbox read`.
const SpecSyntax = `  URL   tcp://host:port[?unit=N], rtu:///dev/ttyUSB0?baud=9600&parity=N, rtuovertcp://host:port
  SPEC  TABLE:ADDRESS:TYPE[:ORDER][:xSCALE][:LENGTH][:bBIT]
        TABLE holding|input|coil|discrete, ADDRESS 0-based, TYPE int16..float64|string|bool,
        e.g. holding:30775:int32  input:19026:float32  holding:1:float16:BA  coil:0:bool
             input:30057:uint32:ABCD:x0.01  holding:40:string:8  holding:5:bool:b3`

// OneShot returns the Modbus driver's one-shot read (`gridbox read`): like
// mbpoll it reads each spec or profile datapoint with a request of its own,
// over a connection of its own, and shows the registers in hex. The unit id
// is req.Unit, else the URL's ?unit=, else the profile's, else 1.
func OneShot() driver.OneShot { return oneShot{} }

type oneShot struct{}

// point is one thing to read: a compiled register and the name it is shown by.
type point struct {
	name string
	f    *field
}

// ReadOnce implements driver.OneShot.
func (oneShot) ReadOnce(ctx context.Context, req driver.ReadRequest) (iter.Seq[driver.Reading], error) {
	t, err := parseURL(req.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if req.Unit != nil && (*req.Unit < 0 || *req.Unit > 255) {
		return nil, fmt.Errorf("unit %d is out of 0..255", *req.Unit)
	}
	points, unit, err := requestPoints(req, t)
	if err != nil {
		return nil, err
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return func(yield func(driver.Reading) bool) {
		pool := NewPool()
		defer pool.Close()
		conn := pool.conn(t, timeout, 0)
		for _, p := range points {
			r := readPoint(ctx, conn, unit, p)
			if !yield(r) || (r.Err != nil && ctx.Err() != nil) {
				return
			}
		}
	}, nil
}

// requestPoints compiles the profile's registers and the specs, and returns
// the unit id: the request's, else the URL's, else the profile's, else 1.
func requestPoints(req driver.ReadRequest, t target) ([]point, uint8, error) {
	var points []point
	unit := uint8(1)
	var p *Profile
	if req.Profile != "" {
		var err error
		if p, err = loadReadProfile(req.Profile, req.Profiles); err != nil {
			return nil, 0, err
		}
		if p.Unit != nil {
			unit = uint8(*p.Unit)
		}
	}
	switch {
	case req.Unit != nil:
		unit = uint8(*req.Unit)
	case t.unit >= 0:
		unit = uint8(t.unit)
	}
	if p != nil {
		fields, errs := compileRegisters(p.registersFor(unit), "registers") // names of a MODBUS_CONFIG carry the unit
		if len(errs) > 0 {
			return nil, 0, config.Errors(errs)
		}
		for _, f := range fields {
			points = append(points, point{f.reg.Name, f})
		}
	}
	for _, s := range req.Specs {
		f, err := parseSpec(s)
		if err != nil {
			return nil, 0, err
		}
		points = append(points, point{s, f})
	}
	if len(points) == 0 {
		return nil, 0, errors.New("nothing to read: no specs and no profile")
	}
	return points, unit, nil
}

// loadReadProfile loads and parses a profile. Its errors name the profile
// once: the source's errors name it already, the profile's own errors name
// its file and line.
func loadReadProfile(name string, src driver.ProfileSource) (*Profile, error) {
	if src == nil {
		return nil, fmt.Errorf("profile %q: no profile source", name)
	}
	data, source, err := src.Load(name)
	if err != nil {
		return nil, err
	}
	return ParseProfile(data, source)
}

// parseSpec turns TABLE:ADDRESS:TYPE[:ORDER][:xSCALE][:LENGTH][:bBIT] into a field.
func parseSpec(s string) (*field, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 {
		return nil, fmt.Errorf("spec %q: want TABLE:ADDRESS:TYPE[:ORDER][:xSCALE][:LENGTH][:bBIT]", s)
	}
	addr, err := strconv.ParseUint(parts[1], 0, 16)
	if err != nil {
		return nil, fmt.Errorf("spec %q: address %q is not 0..65535", s, parts[1])
	}
	r := Register{Name: "x", Table: parts[0], Address: uint16(addr), Type: parts[2]}
	for _, p := range parts[3:] {
		if err := applySpecPart(&r, p); err != nil {
			return nil, fmt.Errorf("spec %q: %v", s, err)
		}
	}
	f, errs := compileRegister(r)
	if len(errs) > 0 {
		return nil, fmt.Errorf("spec %q: %v", s, config.Errors(errs))
	}
	return f, nil
}

func applySpecPart(r *Register, p string) error {
	switch {
	case strings.HasPrefix(p, "x"):
		x, err := strconv.ParseFloat(p[1:], 64)
		if err != nil || x == 0 {
			return fmt.Errorf("scale %q is not a non-zero number", p)
		}
		r.Scale = x
	case strings.HasPrefix(p, "b") && len(p) > 1 && p[1] >= '0' && p[1] <= '9':
		b, err := strconv.ParseUint(p[1:], 10, 8)
		if err != nil {
			return fmt.Errorf("bit %q is not 0..15", p)
		}
		bit := uint8(b)
		r.Bit = &bit
	case p != "" && p[0] >= '0' && p[0] <= '9':
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return fmt.Errorf("length %q is not a number", p)
		}
		r.Length = uint16(n)
	default:
		r.Order = p
	}
	return nil
}

// readPoint reads one point with one request and decodes it.
func readPoint(ctx context.Context, conn *Conn, unit uint8, p point) driver.Reading {
	f := p.f
	r := driver.Reading{Name: p.name, Unit: f.reg.Unit}
	var regs []uint16
	var bits []bool
	err := conn.Do(ctx, f.unitFor(unit), func(c *modbus.ModbusClient) error {
		var err error
		regs, bits, err = readTable(c, f.table, f.reg.Address, f.n)
		return err
	})
	if err != nil {
		r.Err = fmt.Errorf("%s %d@%d: %w", f.table, f.n, f.reg.Address, err)
		return r
	}
	if f.table.isBits() {
		r.Raw, r.Value = fmt.Sprintf("[%d] %t", f.reg.Address, bits[0]), f.decodeBit(bits[0])
		return r
	}
	hex := make([]string, len(regs))
	for i, w := range regs {
		hex[i] = fmt.Sprintf("0x%04X", w)
	}
	r.Raw = fmt.Sprintf("[%d] %s", f.reg.Address, strings.Join(hex, " "))
	if v, err := f.decode(regs); err != nil {
		r.Err = err
	} else {
		r.Value = v
	}
	return r
}
