package modbus

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// bemcomKeys are the request kinds of a MODBUS_CONFIG, in the order their
// datapoints are listed.
var bemcomKeys = []string{
	"read_holding_registers", "read_input_registers", "read_coils", "read_discrete_inputs",
	"write_register", "write_registers", "write_coil",
}

// bcBlock is one request block of a MODBUS_CONFIG.
type bcBlock struct {
	Address        *int               `json:"address"`
	Count          *int               `json:"count"`
	Unit           *int               `json:"unit"`
	Datatypes      string             `json:"datatypes"`
	ScalingFactors map[string]float64 `json:"scaling_factors"`
	ExampleValue   any                `json:"example_value"`
}

// bcItem is one value of a struct format.
type bcItem struct {
	typ  string // register type
	regs int    // registers it takes in the address arithmetic
	code byte   // the format character
}

// bcCodes maps struct format characters to register types.
var bcCodes = map[byte]bcItem{
	'h': {"int16", 1, 'h'}, 'H': {"uint16", 1, 'H'}, 'e': {"float16", 1, 'e'}, '?': {"bool", 1, '?'},
	'i': {"int32", 2, 'i'}, 'I': {"uint32", 2, 'I'}, 'l': {"int32", 2, 'l'}, 'L': {"uint32", 2, 'L'},
	'f': {"float32", 2, 'f'}, 'q': {"int64", 4, 'q'}, 'Q': {"uint64", 4, 'Q'}, 'd': {"float64", 4, 'd'},
}

// parseStructFormat parses a Python struct format into its values and
// their byte order (true: little-endian, as <, = and @ on the framework's
// hosts). Repeat counts ("10f") are expanded; whitespace is ignored.
func parseStructFormat(s string) (items []bcItem, little bool, err error) {
	if s != "" {
		switch s[0] {
		case '<', '=', '@':
			little, s = true, s[1:]
		case '>', '!':
			s = s[1:]
		default:
			little = true // no prefix means native (@)
		}
	}
	count := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			continue
		case c >= '0' && c <= '9':
			count = max(count, 0)*10 + int(c-'0')
			if count > maxRegisters {
				return nil, false, fmt.Errorf("repeat count %d is too large", count)
			}
			continue
		}
		it, ok := bcCodes[c]
		if !ok {
			return nil, false, fmt.Errorf("format character %q is not supported (want h, H, e, ?, i, I, l, L, f, q, Q, d)", c)
		}
		n := 1
		if count >= 0 {
			n = count
		}
		for range n {
			items = append(items, it)
		}
		count = -1
	}
	if count >= 0 {
		return nil, false, fmt.Errorf("repeat count without a format character")
	}
	return items, little, nil
}

// bcProto is a converted value whose name waits for the device's unit id.
type bcProto struct {
	reg   Register
	kind  string // request kind, the name's first part
	block *uint8 // the block's unit (wins over the device's)
}

// parseModbusConfig converts a MODBUS_CONFIG; datapoint names are the
// framework's keys, <kind>__<unit>__<address>.
func parseModbusConfig(top map[string]json.RawMessage) (*Profile, config.Errors) {
	var errs config.Errors
	known := map[string]bool{}
	for _, k := range bemcomKeys {
		known[k] = true
	}
	for k := range top {
		if !known[k] {
			errs = append(errs, config.Errf(k, "unknown request kind (want one of %v)", bemcomKeys))
		}
	}
	var protos []bcProto
	var paths []string
	for _, kind := range bemcomKeys {
		raw, ok := top[kind]
		if !ok {
			continue
		}
		var blocks []json.RawMessage
		if err := json.Unmarshal(raw, &blocks); err != nil {
			errs = append(errs, config.Errf(kind, "want a list of blocks: %v", err))
			continue
		}
		for i, b := range blocks {
			p := fmt.Sprintf("%s[%d]", kind, i)
			ps, berrs := bcConvert(kind, b)
			for _, e := range berrs {
				e.Path = p + "." + e.Path
				errs = append(errs, e)
			}
			for range ps {
				paths = append(paths, p)
			}
			protos = append(protos, ps...)
		}
	}
	if len(protos) == 0 && len(errs) == 0 {
		errs = append(errs, config.Errf("read_holding_registers", "the MODBUS_CONFIG has no requests"))
	}
	forUnit := func(unit uint8) []Register { return bcRegisters(protos, unit) }
	regs := forUnit(1)
	fields, ferrs := compileForeign(regs, paths)
	errs = append(errs, ferrs...)
	if len(errs) > 0 {
		return nil, errs
	}
	return &Profile{
		Description: "building framework MODBUS_CONFIG",
		Sign:        "as the MODBUS_CONFIG reads the device",
		Registers:   regs, fields: fields, forUnit: forUnit,
	}, nil
}

// bcRegisters names the values for a device of unit id unit.
func bcRegisters(protos []bcProto, unit uint8) []Register {
	regs := make([]Register, len(protos))
	for i, p := range protos {
		u := unit
		if p.block != nil {
			u = *p.block
		}
		r := p.reg
		r.Name = fmt.Sprintf("%s__%d__%d", p.kind, u, r.Address)
		r.unit = p.block
		regs[i] = r
	}
	return regs
}

// bcConvert converts one block into its values.
func bcConvert(kind string, raw json.RawMessage) ([]bcProto, []config.FieldError) {
	var b bcBlock
	if err := strictJSON(raw, &b); err != nil {
		return nil, []config.FieldError{config.Errf("address", "%v", err)}
	}
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	if b.Address == nil || *b.Address < 0 || *b.Address > 65535 {
		add("address", "missing or out of 0..65535")
	}
	var unit *uint8
	if b.Unit != nil {
		if *b.Unit < 0 || *b.Unit > 255 {
			add("unit", "%d is out of 0..255", *b.Unit)
		} else {
			u := uint8(*b.Unit)
			unit = &u
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	base := Register{Address: uint16(*b.Address)}
	switch kind {
	case "read_coils", "read_discrete_inputs", "write_coil":
		return bcBits(kind, b, base, unit)
	}
	return bcValues(kind, b, base, unit)
}

// bcBits converts coil and discrete input blocks: one bool per address.
func bcBits(kind string, b bcBlock, base Register, unit *uint8) ([]bcProto, []config.FieldError) {
	base.Table, base.Type = "coil", "bool"
	n := 1
	switch kind {
	case "read_discrete_inputs":
		base.Table = "discrete"
		fallthrough
	case "read_coils":
		if b.Count == nil || *b.Count < 1 || *b.Count > maxBits {
			return nil, []config.FieldError{config.Errf("count", "missing or out of 1..%d", maxBits)}
		}
		n = *b.Count
	default:
		base.Kind = model.Actuator
	}
	var out []bcProto
	for i := range n {
		r := base
		if int(base.Address)+i > 65535 {
			return nil, []config.FieldError{config.Errf("count", "runs past address 65535")}
		}
		r.Address = base.Address + uint16(i)
		out = append(out, bcProto{reg: r, kind: kind, block: unit})
	}
	return out, nil
}

// bcValues converts register blocks by their struct format: each value's
// address is the start plus the registers of the values before it.
func bcValues(kind string, b bcBlock, base Register, unit *uint8) ([]bcProto, []config.FieldError) {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	items, little, err := parseStructFormat(b.Datatypes)
	switch {
	case err != nil:
		return nil, []config.FieldError{config.Errf("datatypes", "%q: %v", b.Datatypes, err)}
	case len(items) == 0:
		return nil, []config.FieldError{config.Errf("datatypes", "missing (a Python struct format like \">f\")")}
	}
	write := kind == "write_register" || kind == "write_registers"
	if write && len(items) != 1 {
		add("datatypes", "%q: a write block takes one value, not %d", b.Datatypes, len(items))
	}
	base.Table = "holding"
	if kind == "read_input_registers" {
		base.Table = "input"
	}
	if write {
		base.Kind, base.WriteMultiple = model.Actuator, kind == "write_registers"
	}
	var out []bcProto
	used := map[string]bool{}
	off := 0
	for _, it := range items {
		addr := int(base.Address) + off
		off += it.regs
		if addr+it.regs > 65536 {
			add("datatypes", "values run past address 65535")
			break
		}
		r := base
		r.Address, r.Type = uint16(addr), it.typ
		if little && it.code != '?' {
			r.Order = map[bool]string{true: "BA", false: "DCBA"}[it.regs == 1]
		}
		key := strconv.Itoa(addr)
		if f, ok := b.ScalingFactors[key]; ok {
			used[key] = true
			if f == 0 || it.code == '?' {
				add("scaling_factors."+key, "factor %v does not apply to %q at %d", f, it.code, addr)
			}
			r.Scale = f
		}
		out = append(out, bcProto{reg: r, kind: kind, block: unit})
	}
	if b.Count != nil && !write && off > *b.Count {
		add("count", "%d registers, but %q takes %d", *b.Count, b.Datatypes, off)
	}
	for k := range b.ScalingFactors {
		if !used[k] {
			add("scaling_factors."+k, "no value starts at address %s (values start at the block address plus the registers before them)", k)
		}
	}
	return out, errs
}
