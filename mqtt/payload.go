package mqtt

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/gridbox/gridbox/model"
)

// appendValue encodes {"value": v, "timestamp": ms, "quality": q}. It fails
// for values JSON cannot carry (NaN, ±Inf, unsupported types).
func appendValue(dst []byte, v model.Value) ([]byte, error) {
	dst = append(dst, `{"value":`...)
	var err error
	if dst, err = appendScalar(dst, v.Value); err != nil {
		return nil, fmt.Errorf("%s: %w", v.Key(), err)
	}
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, v.Time, 10)
	dst = append(dst, `,"quality":`...)
	dst = strconv.AppendQuote(dst, string(v.Quality)) // qualities are plain ASCII words
	return append(dst, '}'), nil
}

// appendScalar encodes a JSON scalar, fast for the common float64.
func appendScalar(dst []byte, x any) ([]byte, error) {
	switch n := x.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, n), nil
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, fmt.Errorf("value %v is not representable in JSON", n)
		}
		f := byte('f')
		if a := math.Abs(n); a != 0 && (a < 1e-6 || a >= 1e21) {
			f = 'e'
		}
		return strconv.AppendFloat(dst, n, f, -1, 64), nil
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("value of type %T: %w", x, err)
	}
	return append(dst, b...), nil
}

// deviceState is the payload of <prefix>/<device>/$state.
type deviceState struct {
	Online   bool   `json:"online"`
	LastSeen *int64 `json:"last_seen"` // null: never seen
	Error    string `json:"error,omitempty"`
}

func encodeDeviceState(st model.DeviceState) []byte {
	p := deviceState{Online: st.Online, Error: st.Error}
	if st.LastSeen != 0 {
		p.LastSeen = &st.LastSeen
	}
	b, _ := json.Marshal(p) // cannot fail: plain fields
	return b
}

// meta is the payload of <prefix>/$meta/<device>/<name>.
func encodeMeta(d model.Datapoint) ([]byte, error) {
	b, err := json.Marshal(d.Meta) // the topic names device and datapoint
	if err != nil {
		return nil, fmt.Errorf("%s metadata: %w", d.Key(), err)
	}
	return b, nil
}

// gatewayState is the payload of <prefix>/$state and of the last will.
type gatewayState struct {
	Online  bool   `json:"online"`
	Version string `json:"version,omitempty"`
}

// encodeGatewayState encodes the gateway's state with the status fields
// sinks set on the bus (bus.SetGatewayStatus) while online.
func encodeGatewayState(online bool, version string, status map[string]any) []byte {
	if !online || len(status) == 0 {
		if !online {
			version = ""
		}
		b, _ := json.Marshal(gatewayState{online, version})
		return b
	}
	doc := make(map[string]any, len(status)+2)
	for k, v := range status {
		doc[k] = v
	}
	doc["online"], doc["version"] = true, version
	b, err := json.Marshal(doc)
	if err != nil {
		b, _ = json.Marshal(gatewayState{online, version})
	}
	return b
}

// writeResult is the payload of <prefix>/<device>/<name>/set/result.
type writeResult struct {
	OK    bool   `json:"ok"`
	Value any    `json:"value,omitempty"`
	Time  int64  `json:"timestamp,omitempty"`
	Error string `json:"error,omitempty"`
}

func encodeResult(r writeResult) []byte {
	b, err := json.Marshal(r)
	if err != nil { // a read-back value JSON cannot carry
		b, _ = json.Marshal(writeResult{Error: fmt.Sprintf("read-back value %v: %v", r.Value, err)})
	}
	return b
}
