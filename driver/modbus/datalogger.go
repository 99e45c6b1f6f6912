package modbus

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/model"
)

// dlField is one field (or common block) of an edge datalogger JSON driver;
// nil means "not given" so that a field overrides only what it sets.
type dlField struct {
	Register    *int64              `json:"register"`
	Words       *int                `json:"words"`
	Fncode      *int                `json:"fncode"`
	Order       *string             `json:"order"`
	StartBit    *int                `json:"start_bit"`
	LengthBits  *int                `json:"length_bits"`
	BitOrder    *string             `json:"bit_order"`
	Datatype    *string             `json:"datatype"`
	Multiplier  *float64            `json:"multiplier"`
	Offset      *float64            `json:"offset"`
	Typecast    *string             `json:"typecast"`
	Valuemap    map[string]*float64 `json:"valuemap"`
	Unit        *string             `json:"unit"`
	Description *string             `json:"description"`
	// status_info items
	Content  *string      `json:"content"`
	LevelMap [][2]float64 `json:"status_level_value_map"`
}

// over returns f with every key it leaves out taken from common.
func (f dlField) over(common dlField) dlField {
	if f.Register == nil {
		f.Register = common.Register
	}
	if f.Words == nil {
		f.Words = common.Words
	}
	if f.Fncode == nil {
		f.Fncode = common.Fncode
	}
	if f.Order == nil {
		f.Order = common.Order
	}
	if f.StartBit == nil {
		f.StartBit = common.StartBit
	}
	if f.LengthBits == nil {
		f.LengthBits = common.LengthBits
	}
	if f.BitOrder == nil {
		f.BitOrder = common.BitOrder
	}
	if f.Datatype == nil {
		f.Datatype = common.Datatype
	}
	if f.Multiplier == nil {
		f.Multiplier = common.Multiplier
	}
	if f.Offset == nil {
		f.Offset = common.Offset
	}
	if f.Typecast == nil {
		f.Typecast = common.Typecast
	}
	if f.Valuemap == nil {
		f.Valuemap = common.Valuemap
	}
	if f.Unit == nil {
		f.Unit = common.Unit
	}
	if f.Description == nil {
		f.Description = common.Description
	}
	if f.LevelMap == nil {
		f.LevelMap = common.LevelMap
	}
	return f
}

// dlTypes maps datalogger datatypes to register types.
var dlTypes = map[string]string{
	"int16": "int16", "uint16": "uint16", "int32": "int32", "uint32": "uint32",
	"int64": "int64", "uint64": "uint64", "float": "float32", "double": "float64",
}

// parseDatalogger converts a datalogger driver: every field and status
// item becomes a sensor register named by its slugged key.
func parseDatalogger(top map[string]json.RawMessage) (*Profile, config.Errors) {
	var errs config.Errors
	for k := range top {
		switch k {
		case "common", "fields", "status_info_common", "status_info":
		default:
			errs = append(errs, config.Errf(k, "unknown key (want common, fields, status_info_common, status_info)"))
		}
	}
	var regs []Register
	var paths []string
	for _, sec := range []struct{ common, items string }{{"common", "fields"}, {"status_info_common", "status_info"}} {
		r, p, e := dlSection(top, sec.common, sec.items)
		regs, paths, errs = append(regs, r...), append(paths, p...), append(errs, e...)
	}
	if len(regs) == 0 && len(errs) == 0 {
		errs = append(errs, config.Errf("fields", "the driver has no fields"))
	}
	fields, ferrs := compileForeign(regs, paths)
	errs = append(errs, ferrs...)
	if len(errs) > 0 {
		return nil, errs
	}
	return &Profile{
		Description: "edge datalogger JSON driver",
		Sign:        "as the driver file reads the device",
		Registers:   regs, fields: fields,
	}, nil
}

// dlSection converts one section (fields or status_info) with its common block.
func dlSection(top map[string]json.RawMessage, commonKey, itemsKey string) ([]Register, []string, config.Errors) {
	var errs config.Errors
	var common dlField
	if raw, ok := top[commonKey]; ok {
		if err := strictJSON(raw, &common); err != nil {
			errs = append(errs, config.Errf(commonKey, "%v", err))
		}
	}
	var items map[string]json.RawMessage
	if raw, ok := top[itemsKey]; ok {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, nil, append(errs, config.Errf(itemsKey, "want an object of %s: %v", itemsKey, err))
		}
	}
	var regs []Register
	var paths []string
	for _, key := range sortedKeys(items) {
		p := itemsKey + "." + key
		var f dlField
		if err := strictJSON(items[key], &f); err != nil {
			errs = append(errs, config.Errf(p, "%v", err))
			continue
		}
		r, ferrs := dlRegister(key, f.over(common), itemsKey == "status_info")
		for _, e := range ferrs {
			e.Path = p + "." + e.Path
			errs = append(errs, e)
		}
		if len(ferrs) == 0 {
			regs, paths = append(regs, r), append(paths, p)
		}
	}
	return regs, paths, errs
}

// dlRegister converts one merged field.
func dlRegister(key string, f dlField, status bool) (Register, []config.FieldError) {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	r := Register{Name: slug(key), Table: "holding"}
	if !model.ValidID(r.Name) {
		add("register", "key %q gives the datapoint name %q, which is not a valid name ([a-z0-9][a-z0-9_-]*)", key, r.Name)
	}
	switch {
	case f.Register == nil:
		add("register", "missing")
	case *f.Register < 0 || *f.Register > 65535:
		add("register", "%d is out of 0..65535", *f.Register)
	default:
		r.Address = uint16(*f.Register)
	}
	if f.Fncode != nil {
		switch *f.Fncode {
		case 3:
		case 4:
			r.Table = "input"
		default:
			add("fncode", "%d is not supported (want 3 holding or 4 input)", *f.Fncode)
		}
	}
	if f.Unit != nil {
		r.Unit = *f.Unit
	}
	if f.Description != nil {
		r.Description = *f.Description
	}
	if status && f.Content != nil {
		r.Description = *f.Content
	}
	if f.StartBit != nil {
		errs = append(errs, dlBits(&r, f)...)
	} else {
		errs = append(errs, dlValue(&r, f)...)
	}
	if status {
		errs = append(errs, dlLevels(&r, f)...)
	} else if f.LevelMap != nil || f.Content != nil {
		add("content", "content and status_level_value_map belong to status_info")
	}
	return r, errs
}

// dlBits converts a bit field: one register as uint16 (bit-reversed for
// msb), (v >> start_bit) & (2^length_bits - 1); nothing else applies.
func dlBits(r *Register, f dlField) []config.FieldError {
	var errs []config.FieldError
	n := 1
	if f.LengthBits != nil {
		n = *f.LengthBits
	}
	s := *f.StartBit
	switch {
	case s < 0 || s > 15:
		errs = append(errs, config.Errf("start_bit", "%d is out of 0..15", s))
	case n < 1 || s+n > 16:
		errs = append(errs, config.Errf("length_bits", "%d bits from bit %d do not fit a 16-bit register", n, s))
	default:
		r.Type, r.Mask, r.Shift = "uint16", uint64(1<<n-1)<<s, uint8(s)
	}
	if f.BitOrder != nil {
		switch *f.BitOrder {
		case "lsb":
		case "msb":
			r.bitRev = true
		default:
			errs = append(errs, config.Errf("bit_order", "%q is not lsb or msb", *f.BitOrder))
		}
	}
	return errs
}

// dlValue converts a value field: words, datatype, order, valuemap,
// multiplier, offset and typecast.
func dlValue(r *Register, f dlField) []config.FieldError {
	var errs []config.FieldError
	add := func(path, format string, args ...any) { errs = append(errs, config.Errf(path, format, args...)) }
	words := 1
	if f.Words != nil {
		words = *f.Words
	}
	if words < 1 || words > 4 {
		add("words", "%d is out of 1..4", words)
		return errs
	}
	switch {
	case f.Datatype != nil:
		t, ok := dlTypes[*f.Datatype]
		if !ok {
			add("datatype", "unknown datatype %q (want int16, uint16, int32, uint32, int64, uint64, float, double)", *f.Datatype)
			return errs
		}
		ti, _ := parseType(t)
		if int(ti.regs) != words {
			add("datatype", "%s takes %d words, but words is %d", *f.Datatype, ti.regs, words)
		}
		r.Type = t
	default:
		r.Type = map[int]string{1: "uint16", 2: "uint32", 4: "float64"}[words]
		if r.Type == "" {
			add("datatype", "missing (3 words have no default datatype)")
		}
	}
	if f.Order != nil {
		switch *f.Order {
		case "msr":
		case "lsr":
			if words > 1 {
				r.Order = "CDAB" // register order reversed
			}
		default:
			add("order", "%q is not msr or lsr", *f.Order)
		}
	}
	if f.Multiplier != nil {
		if *f.Multiplier == 0 {
			add("multiplier", "0 would make every value 0")
		}
		r.Scale = *f.Multiplier
	}
	if f.Offset != nil {
		r.Offset = *f.Offset
	}
	if f.Typecast != nil {
		r.cast = *f.Typecast
	}
	errs = append(errs, dlValuemap(r, f.Valuemap, words)...)
	return errs
}

// dlValuemap converts a valuemap: keys are the raw bytes in lower case hex.
func dlValuemap(r *Register, vm map[string]*float64, words int) []config.FieldError {
	var errs []config.FieldError
	if len(vm) > 0 {
		r.Map = make(map[string]any, len(vm))
	}
	for k, v := range vm {
		h, ok := strings.CutPrefix(k, "0x")
		if _, err := strconv.ParseUint(h, 16, 64); !ok || err != nil || len(h) != 4*words {
			errs = append(errs, config.Errf("valuemap", "key %q is not 0x and the %d raw bytes in hex", k, 2*words))
			continue
		}
		if v == nil {
			r.Map[k] = nil
		} else {
			r.Map[k] = *v
		}
	}
	return errs
}

// dlLevels maps a status item's raw value to its level (0 OK … 4 critical).
func dlLevels(r *Register, f dlField) []config.FieldError {
	if len(f.LevelMap) == 0 {
		return nil
	}
	if r.Map == nil {
		r.Map = map[string]any{}
	}
	for i, pair := range f.LevelMap {
		raw := pair[0]
		if raw != float64(int64(raw)) || raw < 0 {
			return []config.FieldError{config.Errf("status_level_value_map", "entry %d: raw value %v is not a whole number ≥ 0", i, raw)}
		}
		r.Map[strconv.FormatInt(int64(raw), 10)] = pair[1]
	}
	r.Format = model.DiscreteNumeric
	return nil
}
