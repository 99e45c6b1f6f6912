package model

import "fmt"

// ShortLen is how many characters of a client-supplied string (a payload, a
// value, a key, a path) a log line or an error message repeats at most.
const ShortLen = 64

// Short renders v for a log line or an error message, cut to its first
// ShortLen characters and "…" when longer, so a 20 MB payload never becomes
// a 20 MB log line or answer.
func Short(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x[:min(len(x), 4*ShortLen+4)]) // enough bytes for ShortLen+1 runes
	default:
		s = fmt.Sprint(v)
	}
	if len(s) <= ShortLen {
		return s
	}
	n := 0
	for i := range s {
		if n == ShortLen {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
