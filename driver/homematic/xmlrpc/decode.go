// Package xmlrpc is a small, careful XML-RPC codec with a client and a
// server, enough for the Homematic CCU: values are int, bool, string,
// float64, []byte (base64), time.Time, nil, []any and map[string]any.
// Every reader caps the body size and the nesting depth.
package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Limits of the decoder.
const (
	DefaultMaxBody = 4 << 20 // bytes of one request or response body
	MaxDepth       = 32      // nesting of values (arrays, structs)
	maxElements    = 1 << 20 // XML elements of one document
)

// ErrMalformed is wrapped by every decoding error: the peer sent something
// that is not a well-formed XML-RPC document of the expected kind.
var ErrMalformed = errors.New("malformed XML-RPC")

// ErrTooLarge is wrapped when a body exceeds its cap.
var ErrTooLarge = errors.New("XML-RPC body too large")

// Fault is an XML-RPC fault answer.
type Fault struct {
	Code   int
	String string
}

func (f *Fault) Error() string { return fmt.Sprintf("XML-RPC fault %d: %s", f.Code, f.String) }

// node is one XML element with its text and child elements.
type node struct {
	name string
	text strings.Builder
	kids []*node
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// readCapped reads all of r, failing with ErrTooLarge beyond limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// parseTree parses a document into its root element. Depth counts XML
// elements; a value nests in at most a few elements per level.
func parseTree(data []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = charsetReader
	var stack []*node
	var root *node
	elements := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, malformed("%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			elements++
			if elements > maxElements || len(stack) >= 3*MaxDepth+4 {
				return nil, malformed("nesting or size beyond limits")
			}
			n := &node{name: t.Name.Local}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.kids = append(top.kids, n)
			} else if root != nil {
				return nil, malformed("more than one root element")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.Directive:
			return nil, malformed("directives (DOCTYPE) are not allowed")
		}
	}
	if root == nil {
		return nil, malformed("empty document")
	}
	return root, nil
}

// only returns the single child element of n named name.
func only(n *node, name string) (*node, error) {
	if len(n.kids) != 1 || n.kids[0].name != name {
		return nil, malformed("<%s> must hold one <%s>", n.name, name)
	}
	return n.kids[0], nil
}

// DecodeCall reads a methodCall (at most maxBody bytes; 0 means DefaultMaxBody).
func DecodeCall(r io.Reader, maxBody int64) (string, []any, error) {
	data, err := readCapped(r, maxBody)
	if err != nil {
		return "", nil, err
	}
	root, err := parseTree(data)
	if err != nil {
		return "", nil, err
	}
	if root.name != "methodCall" {
		return "", nil, malformed("root is <%s>, want <methodCall>", root.name)
	}
	var method string
	var params []any
	for _, k := range root.kids {
		switch k.name {
		case "methodName":
			method = strings.TrimSpace(k.text.String())
		case "params":
			if params, err = decodeParams(k); err != nil {
				return "", nil, err
			}
		default:
			return "", nil, malformed("unexpected <%s> in <methodCall>", k.name)
		}
	}
	if method == "" {
		return "", nil, malformed("no methodName")
	}
	return method, params, nil
}

// DecodeResponse reads a methodResponse; a fault is returned as *Fault.
func DecodeResponse(r io.Reader, maxBody int64) (any, error) {
	data, err := readCapped(r, maxBody)
	if err != nil {
		return nil, err
	}
	root, err := parseTree(data)
	if err != nil {
		return nil, err
	}
	if root.name != "methodResponse" || len(root.kids) != 1 {
		return nil, malformed("want <methodResponse> with <params> or <fault>")
	}
	switch k := root.kids[0]; k.name {
	case "params":
		ps, err := decodeParams(k)
		if err != nil {
			return nil, err
		}
		if len(ps) != 1 {
			return nil, malformed("response has %d params, want 1", len(ps))
		}
		return ps[0], nil
	case "fault":
		return nil, decodeFault(k)
	default:
		return nil, malformed("unexpected <%s> in <methodResponse>", k.name)
	}
}

func decodeFault(k *node) error {
	vn, err := only(k, "value")
	if err != nil {
		return err
	}
	v, err := decodeValue(vn, 0)
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return malformed("fault is not a struct")
	}
	code, _ := m["faultCode"].(int)
	msg, _ := m["faultString"].(string)
	return &Fault{Code: code, String: msg}
}

func decodeParams(n *node) ([]any, error) {
	out := make([]any, 0, len(n.kids))
	for _, p := range n.kids {
		if p.name != "param" {
			return nil, malformed("unexpected <%s> in <params>", p.name)
		}
		vn, err := only(p, "value")
		if err != nil {
			return nil, err
		}
		v, err := decodeValue(vn, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// decodeValue decodes a <value> element.
func decodeValue(n *node, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, malformed("values nested deeper than %d", MaxDepth)
	}
	if len(n.kids) == 0 {
		return n.text.String(), nil // untyped value: a string
	}
	if len(n.kids) > 1 || strings.TrimSpace(n.text.String()) != "" {
		return nil, malformed("<value> must hold one typed element")
	}
	t := n.kids[0]
	text := t.text.String()
	if t.name != "array" && t.name != "struct" && len(t.kids) > 0 {
		return nil, malformed("<%s> must not hold elements", t.name)
	}
	switch t.name {
	case "i4", "int", "i8":
		i, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil || (t.name != "i8" && (i > math.MaxInt32 || i < math.MinInt32)) {
			return nil, malformed("<%s>%.40q is not an integer of its size", t.name, text)
		}
		return int(i), nil
	case "boolean":
		switch strings.TrimSpace(text) {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
		return nil, malformed("<boolean>%.40q: want 0 or 1", text)
	case "string":
		return text, nil
	case "double":
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, malformed("<double>%.40q is not a finite number", text)
		}
		return f, nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
		if err != nil {
			return nil, malformed("<base64>: %v", err)
		}
		return b, nil
	case "dateTime.iso8601":
		return decodeTime(text)
	case "nil":
		return nil, nil
	case "array":
		return decodeArray(t, depth)
	case "struct":
		return decodeStruct(t, depth)
	}
	return nil, malformed("unknown value type <%s>", t.name)
}

func decodeTime(text string) (any, error) {
	s := strings.TrimSpace(text)
	for _, layout := range []string{"20060102T15:04:05", "20060102T15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04:05Z07:00", "20060102T150405"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return nil, malformed("<dateTime.iso8601>%.40q is not a time", text)
}

func decodeArray(t *node, depth int) (any, error) {
	data, err := only(t, "data")
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(data.kids))
	for _, vn := range data.kids {
		if vn.name != "value" {
			return nil, malformed("unexpected <%s> in <data>", vn.name)
		}
		v, err := decodeValue(vn, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func decodeStruct(t *node, depth int) (any, error) {
	out := make(map[string]any, len(t.kids))
	for _, m := range t.kids {
		if m.name != "member" {
			return nil, malformed("unexpected <%s> in <struct>", m.name)
		}
		var name *string
		var val *node
		for _, k := range m.kids {
			switch {
			case k.name == "name" && name == nil:
				s := k.text.String()
				name = &s
			case k.name == "value" && val == nil:
				val = k
			default:
				return nil, malformed("unexpected <%s> in <member>", k.name)
			}
		}
		if name == nil || val == nil {
			return nil, malformed("<member> needs <name> and <value>")
		}
		v, err := decodeValue(val, depth+1)
		if err != nil {
			return nil, err
		}
		out[*name] = v
	}
	return out, nil
}

// charsetReader accepts the Latin-1 documents of the CCU besides UTF-8.
func charsetReader(label string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return r, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1":
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		return strings.NewReader(string(rs)), nil
	}
	return nil, fmt.Errorf("charset %q not supported", label)
}
