package modbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/simonvetter/modbus"
)

// ReadUsage documents `gridbox read`.
const ReadUsage = `usage: gridbox read URL [--unit N] [--timeout 1s] [--profile NAME] SPEC...
  URL   tcp://host:port[?unit=N], rtu:///dev/ttyUSB0?baud=9600&parity=N, rtuovertcp://host:port
  SPEC  TABLE:ADDRESS:TYPE[:ORDER][:xSCALE][:LENGTH][:bBIT]
        TABLE holding|input|coil|discrete, ADDRESS 0-based, TYPE int16..float64|string|bool,
        e.g. holding:30775:int32  input:19026:float32  holding:1:float16:BA  coil:0:bool
             input:30057:uint32:ABCD:x0.01  holding:40:string:8  holding:5:bool:b3
  --profile NAME reads and prints every datapoint of a profile`

// readArgs are the parsed arguments of `gridbox read`.
type readArgs struct {
	url     string
	unit    int // -1: not given
	timeout time.Duration
	profile string
	specs   []string

	nprofile int // fields that come from the profile, before the specs
}

// ErrReadHelp is RunRead's answer to -h or --help; the caller prints ReadUsage.
var ErrReadHelp = errors.New("help requested")

// UsageError is a mistake in the read command line (flags, URL, SPECs,
// profile), as opposed to a failed read.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *UsageError) Unwrap() error { return e.Err }

// RunRead implements `gridbox read URL SPEC...`: a one-shot read for
// commissioning that prints, like mbpoll, the raw registers in hex and the
// decoded value of each spec (or of each datapoint of --profile).
func RunRead(ctx context.Context, args []string, w io.Writer, profiles driver.ProfileSource) error {
	a, err := parseReadArgs(args)
	if err != nil {
		return err
	}
	t, err := parseURL(a.url)
	if err != nil {
		return &UsageError{fmt.Errorf("url: %w", err)}
	}
	fields, unit, err := a.fields(profiles)
	if err != nil {
		return &UsageError{err}
	}
	switch {
	case a.unit >= 0:
		unit = uint8(a.unit)
	case t.unit >= 0:
		unit = uint8(t.unit)
	}
	pool := NewPool()
	defer pool.Close()
	conn := pool.conn(t, a.timeout, 0)
	failed := 0
	for i, f := range fields {
		if err := readAndPrint(ctx, w, conn, unit, f, a.label(i, f)); err != nil {
			failed++
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d reads failed", failed, len(fields))
	}
	return nil
}

func parseReadArgs(args []string) (readArgs, error) {
	a := readArgs{unit: -1, timeout: time.Second}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") {
			if a.url == "" {
				a.url = arg
			} else {
				a.specs = append(a.specs, arg)
			}
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if name == "h" || name == "help" {
			return a, ErrReadHelp
		}
		if !hasVal {
			if i+1 >= len(args) {
				return a, &UsageError{fmt.Errorf("flag %s needs a value\n%s", arg, ReadUsage)}
			}
			i++
			val = args[i]
		}
		if err := a.setFlag(name, val); err != nil {
			return a, &UsageError{err}
		}
	}
	switch {
	case a.url == "":
		return a, &UsageError{fmt.Errorf("missing URL\n%s", ReadUsage)}
	case len(a.specs) == 0 && a.profile == "":
		return a, &UsageError{fmt.Errorf("nothing to read: give SPECs or --profile\n%s", ReadUsage)}
	}
	return a, nil
}

func (a *readArgs) setFlag(name, val string) error {
	switch name {
	case "unit":
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > 255 {
			return fmt.Errorf("--unit %q is not 0..255", val)
		}
		a.unit = n
	case "timeout":
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return fmt.Errorf("--timeout %q is not a positive duration (like 500ms)", val)
		}
		a.timeout = d
	case "profile":
		a.profile = val
	default:
		return fmt.Errorf("unknown flag --%s\n%s", name, ReadUsage)
	}
	return nil
}

// fields compiles the specs, or the profile's registers, and returns the
// profile's unit id (1 without profile).
func (a *readArgs) fields(profiles driver.ProfileSource) ([]*field, uint8, error) {
	var fields []*field
	unit := uint8(1)
	if a.profile != "" {
		if profiles == nil {
			return nil, 0, fmt.Errorf("--profile %s: no profile source", a.profile)
		}
		data, src, err := profiles.Load(a.profile)
		if err != nil {
			return nil, 0, fmt.Errorf("--profile %s: %w", a.profile, err)
		}
		p, err := ParseProfile(data, src)
		if err != nil {
			return nil, 0, err
		}
		fields, a.nprofile = p.fields, len(p.fields)
		if p.Unit != nil {
			unit = uint8(*p.Unit)
		}
	}
	for _, s := range a.specs {
		f, err := parseSpec(s)
		if err != nil {
			return nil, 0, err
		}
		fields = append(fields, f)
	}
	return fields, unit, nil
}

// label is what a printed line starts with: the spec or the datapoint name.
func (a *readArgs) label(i int, f *field) string {
	if i < a.nprofile {
		return f.reg.Name
	}
	return a.specs[i-a.nprofile]
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

// readAndPrint reads one field and prints its raw data and value.
func readAndPrint(ctx context.Context, w io.Writer, conn *Conn, unit uint8, f *field, label string) error {
	var regs []uint16
	var bits []bool
	err := conn.Do(ctx, unit, func(c *modbus.ModbusClient) error {
		var err error
		regs, bits, err = readTable(c, f.table, f.reg.Address, f.n)
		return err
	})
	if err != nil {
		fmt.Fprintf(w, "%-32s ERROR %s %d@%d: %v\n", label, f.table, f.n, f.reg.Address, err)
		return err
	}
	var raw string
	var v any
	if f.table.isBits() {
		raw, v = fmt.Sprint(bits[0]), f.decodeBit(bits[0])
	} else {
		hex := make([]string, len(regs))
		for i, r := range regs {
			hex[i] = fmt.Sprintf("0x%04X", r)
		}
		raw = strings.Join(hex, " ")
		if v, err = f.decode(regs); err != nil {
			fmt.Fprintf(w, "%-32s [%d] %s  decode error: %v\n", label, f.reg.Address, raw, err)
			return err
		}
	}
	fmt.Fprintf(w, "%-32s [%d] %s  = %s%s\n", label, f.reg.Address, raw, formatValue(v), unitSuffix(f.reg.Unit))
	return nil
}

func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}
