package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"time"
)

const header = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// EncodeCall returns the methodCall document of method with params.
func EncodeCall(method string, params ...any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header + "<methodCall><methodName>")
	escape(&b, method)
	b.WriteString("</methodName><params>")
	for i, p := range params {
		b.WriteString("<param>")
		if err := encodeValue(&b, p, 0); err != nil {
			return nil, fmt.Errorf("param %d: %w", i, err)
		}
		b.WriteString("</param>")
	}
	b.WriteString("</params></methodCall>\n")
	return b.Bytes(), nil
}

// EncodeResponse returns the methodResponse document carrying v.
func EncodeResponse(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header + "<methodResponse><params><param>")
	if err := encodeValue(&b, v, 0); err != nil {
		return nil, err
	}
	b.WriteString("</param></params></methodResponse>\n")
	return b.Bytes(), nil
}

// EncodeFault returns the methodResponse document of a fault.
func EncodeFault(f *Fault) []byte {
	var b bytes.Buffer
	b.WriteString(header + "<methodResponse><fault>")
	// a struct of an int and a string always encodes
	_ = encodeValue(&b, map[string]any{"faultCode": f.Code, "faultString": f.String}, 0)
	b.WriteString("</fault></methodResponse>\n")
	return b.Bytes()
}

func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // writes to a bytes.Buffer do not fail
}

// encodeValue writes v as a <value>. Integers outside int32 are <i8>.
func encodeValue(b *bytes.Buffer, v any, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("values nested deeper than %d", MaxDepth)
	}
	b.WriteString("<value>")
	if err := encodeInner(b, v, depth); err != nil {
		return err
	}
	b.WriteString("</value>")
	return nil
}

func encodeInner(b *bytes.Buffer, v any, depth int) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("<nil/>")
	case bool:
		b.WriteString("<boolean>" + map[bool]string{true: "1", false: "0"}[x] + "</boolean>")
	case string:
		b.WriteString("<string>")
		escape(b, x)
		b.WriteString("</string>")
	case float32:
		return encodeDouble(b, float64(x))
	case float64:
		return encodeDouble(b, x)
	case []byte:
		b.WriteString("<base64>" + base64.StdEncoding.EncodeToString(x) + "</base64>")
	case time.Time:
		b.WriteString("<dateTime.iso8601>" + x.Format("20060102T15:04:05") + "</dateTime.iso8601>")
	case map[string]any:
		return encodeStruct(b, x, depth)
	case []any:
		return encodeArray(b, reflect.ValueOf(x), depth)
	default:
		return encodeReflect(b, reflect.ValueOf(v), depth)
	}
	return nil
}

func encodeDouble(b *bytes.Buffer, f float64) error {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("%v has no XML-RPC double", f)
	}
	b.WriteString("<double>" + strconv.FormatFloat(f, 'f', -1, 64) + "</double>")
	return nil
}

func encodeInt(b *bytes.Buffer, i int64) {
	tag := "i4"
	if i > math.MaxInt32 || i < math.MinInt32 {
		tag = "i8"
	}
	b.WriteString("<" + tag + ">" + strconv.FormatInt(i, 10) + "</" + tag + ">")
}

// encodeReflect handles integers, slices and string-keyed maps of any type.
func encodeReflect(b *bytes.Buffer, rv reflect.Value, depth int) error {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		encodeInt(b, rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if rv.Uint() > math.MaxInt64 {
			return fmt.Errorf("%d has no XML-RPC integer", rv.Uint())
		}
		encodeInt(b, int64(rv.Uint()))
	case reflect.Slice, reflect.Array:
		return encodeArray(b, rv, depth)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("map key %s: want string", rv.Type().Key())
		}
		m := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			m[it.Key().String()] = it.Value().Interface()
		}
		return encodeStruct(b, m, depth)
	default:
		return fmt.Errorf("%s has no XML-RPC type", rv.Type())
	}
	return nil
}

func encodeArray(b *bytes.Buffer, rv reflect.Value, depth int) error {
	b.WriteString("<array><data>")
	for i := range rv.Len() {
		if err := encodeValue(b, rv.Index(i).Interface(), depth+1); err != nil {
			return err
		}
	}
	b.WriteString("</data></array>")
	return nil
}

func encodeStruct(b *bytes.Buffer, m map[string]any, depth int) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("<struct>")
	for _, k := range keys {
		b.WriteString("<member><name>")
		escape(b, k)
		b.WriteString("</name>")
		if err := encodeValue(b, m[k], depth+1); err != nil {
			return fmt.Errorf("member %q: %w", k, err)
		}
		b.WriteString("</member>")
	}
	b.WriteString("</struct>")
	return nil
}
