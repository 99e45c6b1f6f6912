package uplink

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/gridbox/gridbox/model"
)

// Content types of a message (MQTT 5 content-type property).
const (
	ContentJSON = "application/json"
	ContentGzip = "application/gzip" // gzip of the JSON document
)

// encodeValue appends one value as the wire's JSON object
// {"dp":"<device>/<name>","v":<value>,"ts":<ms>,"q":"good"}.
func encodeValue(b []byte, v model.Value) ([]byte, error) {
	b = append(b, `{"dp":`...)
	b = strconv.AppendQuote(b, v.Device+"/"+v.Name)
	b = append(b, `,"v":`...)
	switch x := v.Value.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s/%s: %v cannot be sent as JSON", v.Device, v.Name, x)
		}
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
	case int64:
		b = strconv.AppendInt(b, x, 10)
	case bool:
		b = strconv.AppendBool(b, x)
	default:
		j, err := json.Marshal(x)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", v.Device, v.Name, err)
		}
		b = append(b, j...)
	}
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, v.Time, 10)
	b = append(b, `,"q":`...)
	b = strconv.AppendQuote(b, string(v.Quality))
	return append(b, '}'), nil
}

// encodeMessage builds the document on <root>/data from encoded values.
func encodeMessage(site string, seq uint64, sent int64, vals [][]byte, gz bool) ([]byte, error) {
	n := 64 + len(site)
	for _, v := range vals {
		n += len(v) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"site":`...)
	b = strconv.AppendQuote(b, site)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"sent":`...)
	b = strconv.AppendInt(b, sent, 10)
	b = append(b, `,"values":[`...)
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, v...)
	}
	b = append(b, "]}"...)
	if !gz {
		return b, nil
	}
	var out bytes.Buffer
	w, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	if _, err := w.Write(b); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return out.Bytes(), nil
}

// Message is a decoded <root>/data document.
type Message struct {
	Site   string      `json:"site"`
	Seq    uint64      `json:"seq"`
	Sent   int64       `json:"sent"`
	Values []WireValue `json:"values"`
}

// WireValue is one value of a message.
type WireValue struct {
	DP string          `json:"dp"`
	V  json.RawMessage `json:"v"`
	TS int64           `json:"ts"`
	Q  string          `json:"q"`
}

// Decode parses a <root>/data payload, gzip-compressed or not (recognised
// by the gzip magic bytes, so MQTT 3.1.1 messages without content type work).
func Decode(p []byte) (Message, error) {
	var m Message
	if len(p) > 2 && p[0] == 0x1f && p[1] == 0x8b {
		r, err := gzip.NewReader(bytes.NewReader(p))
		if err != nil {
			return m, fmt.Errorf("gzip: %w", err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(r); err != nil {
			return m, fmt.Errorf("gzip: %w", err)
		}
		p = buf.Bytes()
	}
	if err := json.Unmarshal(p, &m); err != nil {
		return m, fmt.Errorf("decode message: %w", err)
	}
	if m.Site == "" || m.Seq == 0 {
		return m, fmt.Errorf("decode message: site and seq are required")
	}
	return m, nil
}
