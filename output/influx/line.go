package influx

import (
	"math"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// Why a value is not written; the label of gridbox_output_values_dropped_total.
const (
	dropNull       = "null"        // the device reported "not available"
	dropInvalid    = "invalid"     // NaN, ±Inf or a type line protocol has no field for
	dropRejected   = "rejected"    // the server refused the line (400: bad line, field type conflict)
	dropBufferFull = "buffer_full" // the oldest buffered batch, dropped to stay within max_buffer
	dropDisk       = "disk"        // a batch that could not be sent nor written to the buffer directory
)

// encoder appends values as line protocol:
//
//	<measurement>,datapoint=<name>,device=<id>,quality=<q>[,unit=<unit>] value=<v> <time>
//
// The measurement is the datapoint name unless a fixed one is configured.
// Tags are written in key order (what InfluxDB sorts them into anyway).
type encoder struct {
	measurement string // fixed measurement, escaped; "" = the datapoint name
	mult        int64  // timestamp: ms × mult; 0 = seconds (ms / 1000)
}

func newEncoder(measurement, precision string) encoder {
	e := encoder{mult: precisions[precision]}
	if measurement != "" {
		e.measurement = escapeMeasurement(measurement)
	}
	return e
}

// append writes one line for v (unit may be "") and returns the buffer and
// "" — or the buffer unchanged and why v has no line.
func (e encoder) append(b []byte, v model.Value, unit string) ([]byte, string) {
	var field []byte
	switch x := v.Value.(type) {
	case nil:
		return b, dropNull
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return b, dropInvalid
		}
		field = strconv.AppendFloat(nil, x, 'g', -1, 64)
	case float32:
		return e.append(b, model.Value{Device: v.Device, Name: v.Name, Value: float64(x), Time: v.Time, Quality: v.Quality}, unit)
	case int:
		field = strconv.AppendFloat(nil, float64(x), 'g', -1, 64)
	case int64:
		field = strconv.AppendFloat(nil, float64(x), 'g', -1, 64)
	case uint64:
		field = strconv.AppendFloat(nil, float64(x), 'g', -1, 64)
	case bool:
		field = strconv.AppendBool(nil, x)
	case string:
		field = appendFieldString(nil, x)
	default:
		return b, dropInvalid
	}
	if e.measurement != "" {
		b = append(b, e.measurement...)
	} else {
		b = append(b, escapeMeasurement(v.Name)...)
	}
	b = append(b, ",datapoint="...)
	b = appendTag(b, v.Name)
	b = append(b, ",device="...)
	b = appendTag(b, v.Device)
	if v.Quality != "" {
		b = append(b, ",quality="...)
		b = appendTag(b, string(v.Quality))
	}
	if unit != "" {
		b = append(b, ",unit="...)
		b = appendTag(b, unit)
	}
	b = append(b, " value="...)
	b = append(b, field...)
	b = append(b, ' ')
	if e.mult == 0 {
		b = strconv.AppendInt(b, floorDiv(v.Time, 1000), 10)
	} else {
		b = strconv.AppendInt(b, v.Time*e.mult, 10)
	}
	return append(b, '\n'), ""
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Line protocol escaping (docs/output-influx.md), as InfluxDB 1.x and 2.x
// parse it: a measurement escapes commas and spaces; tag keys and values
// escape commas, equals signs and spaces; a string field value is quoted and
// escapes double quotes and backslashes. A backslash elsewhere is written as
// it is (the parser keeps it). What line protocol cannot carry is changed, not
// refused: a line break in a name or tag becomes a space, one in a text value
// becomes the two characters \n (\r likewise), and a name or tag ending in a
// backslash gets a space appended (the backslash would escape the separator).

var (
	measurementEsc = strings.NewReplacer(",", `\,`, " ", `\ `, "\n", `\ `, "\r", `\ `)
	tagEsc         = strings.NewReplacer(",", `\,`, "=", `\=`, " ", `\ `, "\n", `\ `, "\r", `\ `)
	fieldEsc       = strings.NewReplacer(`"`, `\"`, `\`, `\\`, "\n", `\\n`, "\r", `\\r`)
)

func escapeMeasurement(s string) string { return trailingBackslash(measurementEsc.Replace(s)) }

func appendTag(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",= \n\r\\") {
		return append(b, s...)
	}
	return append(b, trailingBackslash(tagEsc.Replace(s))...)
}

func appendFieldString(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, fieldEsc.Replace(s)...)
	return append(b, '"')
}

// trailingBackslash appends an escaped space to an escaped name or tag that
// ends in a backslash, which would otherwise escape the separator after it.
func trailingBackslash(s string) string {
	if strings.HasSuffix(s, `\`) {
		return s + `\ `
	}
	return s
}
