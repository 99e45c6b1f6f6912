package docpath

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gridbox/gridbox/model"
)

// TypeError is a value of the wrong type for its datapoint's format.
type TypeError struct{ Msg string }

func (e *TypeError) Error() string { return e.Msg }

// Convert turns a value found by Get into a datapoint value of format:
// numbers get value × scale + offset (scale 0 means 1); numeric strings are
// accepted for numeric formats, 0/1 and "true"/"false" for bool. nil stays
// nil (not available). A value that does not fit is a *TypeError.
func Convert(v any, f model.Format, scale, offset float64) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch {
	case f.Numeric():
		x, ok := number(v)
		if !ok {
			return nil, &TypeError{fmt.Sprintf("want a number, got %s %s", typeName(v), quoteShort(v))}
		}
		if scale == 0 {
			scale = 1
		}
		return x*scale + offset, nil
	case f == model.Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case float64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, &TypeError{fmt.Sprintf("want a bool, got %s %s", typeName(v), quoteShort(v))}
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return nil, &TypeError{fmt.Sprintf("want text, got %s", typeName(v))}
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

func quoteShort(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(short(x))
	case map[string]any, []any:
		return ""
	}
	return fmt.Sprint(v)
}
