package modbus

import (
	"math"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/config"
)

// compileCast checks the fields only the foreign-file converters set: a
// bit-reversed register needs a 16-bit bit field, a typecast a numeric type.
func (f *field) compileCast() []config.FieldError {
	var errs []config.FieldError
	r := f.reg
	if r.bitRev && (f.typ.width != 16 || f.mask == 0) {
		errs = append(errs, config.Errf("bit_order", "msb bit order needs a bit field of one register"))
	}
	switch r.cast {
	case "", "float", "int", "str", "bool":
	default:
		errs = append(errs, config.Errf("typecast", "unknown typecast %q (want int, float, str or bool)", r.cast))
	}
	if r.cast != "" && (f.typ.kind == kString || f.typ.kind == kBool) {
		errs = append(errs, config.Errf("typecast", "typecast needs a numeric type, not %s", f.typ.name))
	}
	return errs
}

// castValue applies a datalogger typecast to a decoded number: int
// truncates toward zero like Python's int(), str formats like Python's
// str(); bool is done by the format (shape).
func (f *field) castValue(x float64) any {
	switch f.reg.cast {
	case "int":
		return math.Trunc(x)
	case "str":
		isFloat := f.typ.kind == kFloat || f.reg.Scale != 0 || f.reg.Offset != 0
		return pyStr(x, isFloat)
	}
	return x
}

// pyStr formats x like Python's str() of an int (isFloat false) or a float:
// 12 → "12", 12.0 → "12.0", 1e16 → "1e+16", 0.5 → "0.5".
func pyStr(x float64, isFloat bool) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	case !isFloat:
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	a := math.Abs(x)
	if a != 0 && (a < 1e-4 || a >= 1e16) {
		s := strconv.FormatFloat(x, 'e', -1, 64)
		return s
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}
