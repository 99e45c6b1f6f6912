package docpath

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// element is one XML element: its local name, attributes, text and children.
type element struct {
	name     string
	attrs    map[string]string
	text     strings.Builder
	children []*element
}

// xmlDoc is a parsed XML document.
type xmlDoc struct{ root *element }

// maxDepth bounds the nesting of an XML answer.
const maxDepth = 256

func parseXML(data []byte) (Doc, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var stack []*element
	var root *element
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("nested deeper than %d elements", maxDepth)
			}
			e := &element{name: t.Name.Local, attrs: map[string]string{}}
			for _, a := range t.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			switch {
			case len(stack) > 0:
				p := stack[len(stack)-1]
				p.children = append(p.children, e)
			case root != nil:
				return nil, errors.New("more than one root element")
			default:
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return xmlDoc{root}, nil
}

// xmlSegments cuts an XML path at slashes, or at dots when it has no
// slash, and drops namespace prefixes ("soap:Body" → "Body").
func xmlSegments(path string) []string {
	sep := "/"
	if !strings.Contains(path, "/") {
		sep = "."
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), sep)
	for i, s := range segs {
		if _, local, ok := strings.Cut(s, ":"); ok && !strings.HasPrefix(s, "@") {
			segs[i] = local
		}
	}
	return segs
}

// Get walks element names from the root (the root's own name may be given
// or left out); "Name[2]" picks the third element of that name, "@attr" as
// the last segment an attribute. The text of the element found is returned
// as a number when it parses as one; an empty element is nil.
func (d xmlDoc) Get(path string) (any, error) {
	segs := xmlSegments(path)
	cur := d.root
	if len(segs) > 0 && segs[0] == cur.name {
		segs = segs[1:]
	}
	for i, seg := range segs {
		if attr, ok := strings.CutPrefix(seg, "@"); ok && i == len(segs)-1 {
			v, ok := cur.attrs[attr]
			if !ok {
				return nil, fmt.Errorf("%w: %s (no attribute %q)", ErrMissing, path, attr)
			}
			return scalar(v), nil
		}
		next := cur.child(seg)
		if next == nil {
			return nil, fmt.Errorf("%w: %s (no element %q in %q)", ErrMissing, path, seg, cur.name)
		}
		cur = next
	}
	if len(cur.children) > 0 {
		return map[string]any{}, nil // an inner element: the caller reports the wrong type
	}
	return scalar(strings.TrimSpace(cur.text.String())), nil
}

// child finds "Name" or "Name[n]" among e's children.
func (e *element) child(seg string) *element {
	name, idx := seg, 0
	if open := strings.IndexByte(seg, '['); open > 0 && strings.HasSuffix(seg, "]") {
		n, err := strconv.Atoi(seg[open+1 : len(seg)-1])
		if err != nil || n < 0 {
			return nil
		}
		name, idx = seg[:open], n
	}
	for _, c := range e.children {
		if c.name == name {
			if idx == 0 {
				return c
			}
			idx--
		}
	}
	return nil
}

// scalar turns element text into a number when it is one; "" is nil.
func scalar(s string) any {
	if s == "" {
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	return s
}
