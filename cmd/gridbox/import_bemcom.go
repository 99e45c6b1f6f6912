package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// bemcomMessage is one element of BEMCom's REST value export
// (GET /datapoint/<id>/value/, and the files of its simple_db_backup
// script): the value is a JSON-encoded string ("24.0", "\"abc\"", "true",
// "null") or null; the timestamp is integer ms.
type bemcomMessage struct {
	Value     json.RawMessage `json:"value"`
	Timestamp *int64          `json:"timestamp"`
}

// readBEMCom reads a JSON array of BEMCom value messages of one datapoint,
// key (the export does not name it: --datapoint does). A bad message is
// reported by its position in the array.
func (im *importer) readBEMCom(r io.Reader, key string, emit func([]model.Value) bool) error {
	im.unit = "message"
	dev, name, msg := im.datapoint(key)
	if msg != "" {
		return fmt.Errorf("--datapoint: %s", msg)
	}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return &lineError{unit: "message", line: 0, msg: "want a JSON array of {\"value\": …, \"timestamp\": ms} (BEMCom's GET /datapoint/<id>/value/)"}
	}
	batch := make([]model.Value, 0, importBatch)
	for n := 1; dec.More(); n++ {
		var m bemcomMessage
		if err := dec.Decode(&m); err != nil {
			return im.flush(batch, emit, &lineError{unit: "message", line: n, msg: err.Error()})
		}
		v, msg := bemcomValue(m)
		if msg != "" {
			if e := im.bad(n, msg); e != nil {
				return im.flush(batch, emit, e)
			}
			continue
		}
		v.Device, v.Name = dev, name
		var more bool
		if batch, more = im.add(batch, v, emit); !more {
			return nil
		}
	}
	if _, err := dec.Token(); err != nil {
		return im.flush(batch, emit, &lineError{unit: "message", line: 0, msg: "the array does not end: " + err.Error()})
	}
	return im.flush(batch, emit, nil)
}

// bemcomValue decodes one message; msg says what is wrong with it.
func bemcomValue(m bemcomMessage) (model.Value, string) {
	if m.Timestamp == nil {
		return model.Value{}, "no \"timestamp\" (integer ms)"
	}
	v := model.Value{Time: *m.Timestamp, Quality: model.Good}
	raw := bytes.TrimSpace(m.Value)
	if len(raw) > 0 && raw[0] == '"' { // the REST encoding: JSON inside a string
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return model.Value{}, fmt.Sprintf("value %s: %v", model.Short(string(raw)), err)
		}
		raw = []byte(strings.TrimSpace(s))
		if len(raw) == 0 {
			return model.Value{}, "value \"\": want a JSON-encoded value (BEMCom's REST API sends \"24.0\", \"\\\"text\\\"\", \"true\" or \"null\")"
		}
	}
	if len(raw) == 0 {
		return model.Value{}, "no \"value\""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil || dec.More() {
		return model.Value{}, fmt.Sprintf("value %q: not a JSON-encoded value (BEMCom's REST API sends \"24.0\", \"\\\"text\\\"\", \"true\" or \"null\")", model.Short(string(raw)))
	}
	switch t := x.(type) {
	case nil, bool, string:
		v.Value = t
	case json.Number:
		f, err := t.Float64()
		if err != nil || math.IsInf(f, 0) {
			return model.Value{}, fmt.Sprintf("value %s: not a finite number", t)
		}
		v.Value = f
	default:
		return model.Value{}, fmt.Sprintf("value %s: want a number, string, bool or null, not an array or object", model.Short(string(raw)))
	}
	return v, ""
}

// isBEMCom tells a BEMCom export by its first byte: a JSON array.
func isBEMCom(br *bufio.Reader) bool {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil {
			return false
		}
		switch b[i-1] {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			return true
		}
		return false
	}
}

// errNoDatapoint is the error of a BEMCom import without --datapoint.
var errNoDatapoint = errors.New("a BEMCom export holds the values of one datapoint without naming it: give --datapoint device/name")
