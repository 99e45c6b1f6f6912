package modbus

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// field is a compiled Register: everything the codec and planner need.
type field struct {
	reg      Register
	table    table
	typ      typeInfo
	n        uint16 // registers (or bits) the field spans
	byteSwap bool
	wordSwap bool
	mask     uint64
	shift    uint8
	scale    float64
	offset   float64
	maps     []mapping
	kind     model.Kind
	format   model.Format
	allowed  []any
}

// end is the first address after the field.
func (f *field) end() int { return int(f.reg.Address) + int(f.n) }

// compileRegister checks a register and compiles it. Errors carry key paths
// relative to the register ("type", "map.0x8000").
func compileRegister(r Register) (*field, []config.FieldError) {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	f := &field{reg: r, scale: r.Scale, offset: r.Offset}
	if !model.ValidID(r.Name) {
		add("name", "%q is not a valid name (a slug: [a-z0-9][a-z0-9_-]*)", r.Name)
	}
	var ok bool
	if f.table, ok = parseTable(r.Table); !ok {
		add("table", "unknown table %q (want holding, input, coil or discrete)", r.Table)
	}
	typ := r.Type
	if typ == "" && f.table.isBits() {
		typ = "bool"
	}
	if f.typ, ok = parseType(typ); !ok {
		if typ == "" {
			add("type", "missing (want one of %s)", typeNames)
		} else {
			add("type", "unknown type %q (want one of %s)", typ, typeNames)
		}
		return f, errs
	}
	errs = append(errs, f.compileShape()...)
	errs = append(errs, f.compileCast()...)
	errs = append(errs, f.compileMeta()...)
	return f, errs
}

// compileShape checks the wire-level keys: table/type fit, order, length, bit, mask, scale, map.
func (f *field) compileShape() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	r := f.reg
	f.n = f.typ.regs
	switch {
	case f.table.isBits() && f.typ.kind != kBool:
		add("type", "%s table holds bits: type must be bool, not %s", f.table, f.typ.name)
	case f.table.isBits():
		f.typ.width = 0
	case f.typ.kind == kString:
		if r.Length == 0 || r.Length > maxRegisters {
			add("length", "a string needs length 1..%d registers, got %d", maxRegisters, r.Length)
		}
		f.n = r.Length
	}
	if r.Length != 0 && f.typ.kind != kString {
		add("length", "length is only for strings, not %s", f.typ.name)
	}
	var err error
	if f.byteSwap, f.wordSwap, err = parseOrder(r.Order, f.typ); err != nil {
		add("order", "%v", err)
	}
	if r.Order != "" && f.table.isBits() {
		add("order", "order does not apply to %s bits", f.table)
	}
	if int(r.Address)+int(f.n) > 65536 {
		add("address", "%d + %d registers runs past 65535", r.Address, f.n)
	}
	errs = append(errs, f.compileBits()...)
	errs = append(errs, f.compileScale()...)
	errs = append(errs, f.compileMap()...)
	return errs
}

func (f *field) compileBits() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	r := f.reg
	integer := f.typ.kind == kSigned || f.typ.kind == kUnsigned
	if r.Bit != nil {
		switch {
		case f.table.isBits():
			add("bit", "bit does not apply to %s table", f.table)
		case f.typ.width != 16 || !(integer || f.typ.kind == kBool):
			add("bit", "bit needs a 16-bit integer or bool type, not %s", f.typ.name)
		case *r.Bit > 15:
			add("bit", "bit %d is out of 0..15", *r.Bit)
		case r.Mask != 0:
			add("bit", "give either bit or mask, not both")
		default:
			f.mask, f.shift = 1<<*r.Bit, *r.Bit
		}
	}
	if r.Mask != 0 || r.Shift != 0 {
		switch {
		case !integer:
			add("mask", "mask/shift need an integer type, not %s", f.typ.name)
		case r.Mask == 0:
			add("mask", "shift without mask")
		case f.typ.width < 64 && r.Mask>>f.typ.width != 0:
			add("mask", "mask 0x%x is wider than %s", r.Mask, f.typ.name)
		case int(r.Shift) >= f.typ.width:
			add("shift", "shift %d is out of 0..%d", r.Shift, f.typ.width-1)
		default:
			f.mask, f.shift = r.Mask, r.Shift
		}
	}
	return errs
}

func (f *field) compileScale() []config.FieldError {
	var errs []config.FieldError
	r := f.reg
	numeric := f.typ.kind != kString && f.typ.kind != kBool
	if (r.Scale != 0 || r.Offset != 0) && !numeric {
		errs = append(errs, config.Errf("scale", "scale/offset need a numeric type, not %s", f.typ.name))
	}
	if math.IsNaN(r.Scale) || math.IsInf(r.Scale, 0) || math.IsNaN(r.Offset) || math.IsInf(r.Offset, 0) {
		errs = append(errs, config.Errf("scale", "scale and offset must be finite numbers"))
	}
	if f.scale == 0 {
		f.scale = 1
	}
	return errs
}

func (f *field) compileMap() []config.FieldError {
	var errs []config.FieldError
	if len(f.reg.Map) > 0 && (f.typ.kind == kString || f.typ.kind == kBool) {
		return []config.FieldError{config.Errf("map", "map needs a numeric type, not %s", f.typ.name)}
	}
	keys := make([]string, 0, len(f.reg.Map))
	for k := range f.reg.Map {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m, err := f.parseMapKey(k)
		if err != nil {
			errs = append(errs, config.Errf("map."+k, "%v", err))
			continue
		}
		switch v := f.reg.Map[k].(type) {
		case nil, string, bool:
			m.val = v
		default:
			n, ok := model.AsFloat(v)
			if !ok {
				errs = append(errs, config.Errf("map."+k, "value must be a number, string, bool or null, got %T", v))
				continue
			}
			m.val = n
		}
		f.maps = append(f.maps, m)
	}
	return errs
}

func (f *field) parseMapKey(k string) (mapping, error) {
	s := strings.TrimSpace(k)
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		u, err := strconv.ParseUint(h, 16, 64)
		if err != nil || (f.rawWidth() < 64 && u>>f.rawWidth() != 0) {
			return mapping{}, fmt.Errorf("key %q is not a %d-bit hex value", k, f.rawWidth())
		}
		return mapping{hex: true, bits: u}, nil
	}
	if f.typ.kind == kFloat {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return mapping{}, fmt.Errorf("key %q is not a number", k)
		}
		return mapping{num: x}, nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		w := f.rawWidth()
		if w < 64 && (i < -(1<<(w-1)) || i >= 1<<w) {
			return mapping{}, fmt.Errorf("key %q does not fit %d bits", k, w)
		}
		return mapping{bits: uint64(i) & widthMask(w)}, nil
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return mapping{}, fmt.Errorf("key %q is not a decimal or 0x-hex integer", k)
	}
	return mapping{bits: u}, nil
}

// rawWidth is the width in bits of the value compared against map keys.
func (f *field) rawWidth() int {
	if f.mask != 0 {
		return bits.Len64(f.mask >> f.shift)
	}
	return f.typ.width
}

func widthMask(w int) uint64 {
	if w >= 64 {
		return math.MaxUint64
	}
	return 1<<w - 1
}

// compileMeta checks the datapoint keys and fills kind, format and allowed.
func (f *field) compileMeta() []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	r := f.reg
	f.kind = model.Kind(r.Kind)
	switch f.kind {
	case "":
		f.kind = model.Sensor
	case model.Sensor:
	case model.Actuator:
		if !f.table.writable() {
			add("kind", "%s table is read-only: it cannot hold an actuator", f.table)
		}
	default:
		add("kind", "unknown kind %q (want sensor or actuator)", r.Kind)
	}
	if r.WriteMultiple && f.kind != model.Actuator {
		add("write_multiple", "only applies to an actuator (kind: actuator)")
	}
	f.format = model.Format(r.Format)
	if f.format == "" {
		f.format = f.defaultFormat()
	}
	if !f.format.Valid() {
		add("format", "unknown format %q (want one of %v)", r.Format, model.Formats())
	} else if msg := f.formatMismatch(); msg != "" {
		add("format", "%s", msg)
	}
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		add("min", "min %v is above max %v", *r.Min, *r.Max)
	}
	if (r.Min != nil || r.Max != nil) && !f.format.Numeric() {
		add("min", "min/max need a numeric format, not %s", f.format)
	}
	f.allowed = r.Allowed
	if len(f.allowed) == 0 && f.format == model.DiscreteText {
		for _, m := range f.maps {
			if s, ok := m.val.(string); ok {
				f.allowed = append(f.allowed, s)
			}
		}
	}
	return append(errs, f.checkSafe()...)
}

func (f *field) defaultFormat() model.Format {
	switch {
	case f.reg.cast == "str":
		return model.GenericText
	case f.reg.cast == "bool":
		return model.Bool
	case f.typ.kind == kBool:
		return model.Bool
	case f.typ.kind == kString:
		return model.GenericText
	}
	for _, m := range f.maps {
		if _, ok := m.val.(string); ok {
			return model.DiscreteText
		}
	}
	return model.ContinuousNumeric
}

func (f *field) formatMismatch() string {
	text := f.format == model.GenericText || f.format == model.DiscreteText
	switch {
	case f.typ.kind == kString && !text:
		return fmt.Sprintf("a string register needs a text format, not %s", f.format)
	case f.typ.kind == kBool && f.format != model.Bool && !f.format.Numeric():
		return fmt.Sprintf("a bool register needs format bool or a numeric format, not %s", f.format)
	case f.typ.kind != kString && text && !f.hasStringMap() && f.reg.cast != "str":
		return fmt.Sprintf("format %s needs a map with text values", f.format)
	}
	return ""
}

func (f *field) hasStringMap() bool {
	for _, m := range f.maps {
		if _, ok := m.val.(string); ok {
			return true
		}
	}
	return false
}

// datapoint returns the field's datapoint metadata (without device).
func (f *field) datapoint() model.Datapoint {
	m := f.reg.Meta
	m.Kind, m.Format, m.Allowed = f.kind, f.format, f.allowed // with the defaults the register's type implies
	return model.Datapoint{Name: f.reg.Name, Meta: m}
}

// compileRegisters checks a list of registers (paths "registers[i].key") and
// reports duplicate names.
func compileRegisters(regs []Register, prefix string) ([]*field, []config.FieldError) {
	var errs []config.FieldError
	fields := make([]*field, 0, len(regs))
	seen := map[string]int{}
	for i, r := range regs {
		p := fmt.Sprintf("%s[%d]", prefix, i)
		f, ferrs := compileRegister(r)
		for _, e := range ferrs {
			e.Path = p + "." + e.Path
			errs = append(errs, e)
		}
		if j, dup := seen[r.Name]; dup && r.Name != "" {
			errs = append(errs, config.Errf(p+".name", "duplicate name %q (also %s[%d])", r.Name, prefix, j))
		}
		seen[r.Name] = i
		fields = append(fields, f)
	}
	return fields, errs
}
