package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// PayloadError is a write payload refused before the datapoint is looked
// at. Field is "body" when the payload's shape is wrong, "value" when the
// value itself is.
type PayloadError struct{ Field, Msg string }

func (e *PayloadError) Error() string { return e.Msg }

// ParseWrite decodes an MQTT write payload: {"value": x} or a bare JSON
// scalar. The object is read strictly (see ParseWriteObject).
func ParseWrite(payload []byte) (any, error) {
	return parseWrite(payload, "payload", true)
}

// ParseWriteObject decodes a REST write body, which must be {"value": x}:
// an object with the one key "value", spelt exactly so and given once, and
// nothing after it. encoding/json alone would match "Value" or "VALUE" too
// and keep the last of repeated keys, so the object is read token by token.
func ParseWriteObject(body []byte) (any, error) {
	return parseWrite(body, "body", false)
}

func parseWrite(payload []byte, noun string, bare bool) (any, error) {
	fail := func(field, format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if field == "body" {
			msg = noun + " " + msg
		}
		return &PayloadError{Field: field, Msg: msg}
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		return nil, fail("body", `is empty: want {"value": x}`)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(fail, err)
	}
	if tok != json.Delim('{') {
		if !bare || tok == json.Delim('[') {
			return nil, fail("body", `is a JSON %s: want an object {"value": x}`, jsonType(tok))
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, fail("body", "has data after the JSON value")
		}
		return scalar(fail, tok)
	}
	v, err := readValueObject(dec, fail)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fail("body", "has data after the JSON object")
	}
	return v, nil
}

// readValueObject reads the keys of an object whose '{' was read.
func readValueObject(dec *json.Decoder, fail func(field, format string, args ...any) error) (any, error) {
	var v any
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(fail, err)
		}
		k, _ := tok.(string) // the decoder allows nothing else here
		switch {
		case k == "value" && seen:
			return nil, fail("body", `has key "value" more than once`)
		case k == "value":
			seen = true
		case strings.EqualFold(k, "value"):
			return nil, fail("body", `has key %q: keys are case-sensitive, want "value"`, Short(k))
		default:
			return nil, fail("body", `has unknown key %q: want only "value"`, Short(k))
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, syntaxError(fail, err)
		}
		if d, ok := tok.(json.Delim); ok {
			return nil, fail("value", `"value" must be a JSON scalar, got an %s`, map[json.Delim]string{'{': "object", '[': "array"}[d])
		}
		if v, err = scalar(fail, tok); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntaxError(fail, err)
	}
	if !seen {
		return nil, fail("value", `no "value" key: want {"value": x}`)
	}
	return v, nil
}

// scalar converts a scalar token; numbers must fit a float64.
func scalar(fail func(field, format string, args ...any) error, tok json.Token) (any, error) {
	n, ok := tok.(json.Number)
	if !ok {
		return tok, nil
	}
	f, err := n.Float64()
	if err != nil {
		return nil, fail("value", "value: number %s does not fit a 64-bit float", Short(string(n)))
	}
	return f, nil
}

// syntaxError names what is wrong with JSON the decoder refused.
func syntaxError(fail func(field, format string, args ...any) error, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fail("body", "is truncated JSON")
	case errors.As(err, &se):
		return fail("body", "is not JSON: %s (at byte %d)", Short(se.Error()), se.Offset)
	}
	return fail("body", "is not JSON: %s", Short(err.Error()))
}

// jsonType names the JSON type of a token that starts a value.
func jsonType(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "number"
}
