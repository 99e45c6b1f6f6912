package main

import (
	"bufio"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// readLines reads InfluxDB line protocol as gridbox's InfluxDB output writes
// it; mult converts the timestamps to ms (> 0: divide, < 0: multiply by -mult).
func (im *importer) readLines(r *bufio.Reader, mult int64, emit func([]model.Value) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	batch := make([]model.Value, 0, importBatch)
	line := 0
	for sc.Scan() {
		line++
		b := strings.TrimRight(sc.Text(), "\r")
		if t := strings.TrimSpace(b); t == "" || t[0] == '#' {
			continue
		}
		v, msg := im.lineValue(b, mult)
		if msg != "" {
			if e := im.bad(line, msg); e != nil {
				return im.flush(batch, emit, e)
			}
			continue
		}
		var more bool
		if batch, more = im.add(batch, v, emit); !more {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return im.flush(batch, emit, &lineError{line: line + 1, msg: err.Error()})
	}
	return im.flush(batch, emit, nil)
}

// lineValue parses one line:
//
//	<measurement>,datapoint=<name>,device=<id>[,quality=<q>][,unit=<u>] value=<v> <time>
//
// The datapoint and device tags name the datapoint (the measurement may be a
// fixed one); quality defaults to good; other tags and fields are ignored.
func (im *importer) lineValue(s string, mult int64) (model.Value, string) {
	key, rest, ok := cutUnescaped(s, ' ', false)
	if !ok {
		return model.Value{}, "want <measurement>,<tags> <fields> <timestamp>"
	}
	fields, tsText, ok := cutUnescaped(rest, ' ', true)
	if !ok || strings.TrimSpace(tsText) == "" {
		return model.Value{}, "no timestamp (gridbox imports only lines with one)"
	}
	var v model.Value
	v.Quality = model.Good
	_, tags, _ := cutUnescaped(key, ',', false)
	for tags != "" {
		var tag string
		tag, tags, _ = cutUnescaped(tags, ',', false)
		k, val, ok := cutUnescaped(tag, '=', false)
		if !ok {
			return model.Value{}, fmt.Sprintf("tag %q: want key=value", tag)
		}
		switch unescapeLP(k) {
		case "datapoint":
			v.Name = unescapeLP(val)
		case "device":
			v.Device = unescapeLP(val)
		case "quality":
			switch q := model.Quality(unescapeLP(val)); q {
			case model.Good, model.Stale, model.Bad:
				v.Quality = q
			default:
				return model.Value{}, fmt.Sprintf("quality %q: want good, stale or bad", q)
			}
		}
	}
	if v.Device == "" || v.Name == "" {
		return model.Value{}, "want the tags device and datapoint (as gridbox's InfluxDB output writes them)"
	}
	if msg := im.check(v.Device, v.Name); msg != "" {
		return model.Value{}, msg
	}
	found := false
	for fields != "" {
		var f string
		f, fields, _ = cutUnescaped(fields, ',', true)
		k, val, ok := cutUnescaped(f, '=', false)
		if !ok {
			return model.Value{}, fmt.Sprintf("field %q: want key=value", f)
		}
		if unescapeLP(k) != "value" {
			continue
		}
		x, msg := fieldValue(val)
		if msg != "" {
			return model.Value{}, msg
		}
		v.Value, found = x, true
	}
	if !found {
		return model.Value{}, "no field value"
	}
	t, err := strconv.ParseInt(strings.TrimSpace(tsText), 10, 64)
	if err != nil {
		return model.Value{}, fmt.Sprintf("timestamp %q: want an integer", strings.TrimSpace(tsText))
	}
	if mult > 0 {
		v.Time = floorDivInt(t, mult)
	} else {
		v.Time = t * -mult
	}
	return v, ""
}

// fieldValue decodes a line protocol field value: float, integer (i/u),
// boolean or quoted string.
func fieldValue(s string) (any, string) {
	switch s {
	case "t", "T", "true", "True", "TRUE":
		return true, ""
	case "f", "F", "false", "False", "FALSE":
		return false, ""
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		in := s[1 : len(s)-1]
		if !strings.Contains(in, `\`) {
			return in, ""
		}
		var b strings.Builder
		for i := 0; i < len(in); i++ {
			if in[i] == '\\' && i+1 < len(in) && (in[i+1] == '"' || in[i+1] == '\\') {
				i++
			}
			b.WriteByte(in[i])
		}
		return b.String(), ""
	}
	num := s
	if n := len(s); n > 0 && (s[n-1] == 'i' || s[n-1] == 'u') {
		num = s[:n-1]
		if i, err := strconv.ParseInt(num, 10, 64); err == nil {
			return float64(i), ""
		}
		if u, err := strconv.ParseUint(num, 10, 64); err == nil {
			return float64(u), ""
		}
		return nil, fmt.Sprintf("field value %q: not an integer", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Sprintf("field value %q: want a number, a boolean or a quoted string", s)
	}
	return f, ""
}

// cutUnescaped splits s at the first sep that is not escaped by a
// backslash (a backslash escapes a comma, equals sign, space or — with
// quotes — a double quote or backslash inside a quoted string) and, with
// quotes, not inside a double-quoted string.
func cutUnescaped(s string, sep byte, quotes bool) (string, string, bool) {
	inQ := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			n := s[i+1]
			if n == ',' || n == '=' || n == ' ' || (inQ && (n == '"' || n == '\\')) {
				i++
			}
		case quotes && c == '"':
			inQ = !inQ
		case c == sep && !inQ:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// unescapeLP removes the backslash before an escaped comma, equals sign or
// space; other backslashes stay, as InfluxDB keeps them.
func unescapeLP(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == ',' || s[i+1] == '=' || s[i+1] == ' ') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func floorDivInt(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
