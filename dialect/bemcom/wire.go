package bemcom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gridbox/gridbox/model"
)

// Message payloads (reference/bemcom.md); timestamps are integer ms.
type (
	valueMsg struct {
		Value     any   `json:"value"`
		Timestamp int64 `json:"timestamp"`
	}
	heartbeatMsg struct {
		This int64 `json:"this_heartbeats_timestamp"`
		Next int64 `json:"next_heartbeats_timestamp"`
	}
	logMsg struct {
		Timestamp int64  `json:"timestamp"`
		Msg       string `json:"msg"`
		Emitter   string `json:"emitter"`
		Level     int    `json:"level"`
	}
	availableMsg struct {
		Sensor   map[string]any `json:"sensor"`
		Actuator map[string]any `json:"actuator"`
	}
	// datapointMap is {"sensor": {key: topic}, "actuator": {topic: key}}.
	datapointMap struct {
		Sensor   map[string]string `json:"sensor"`
		Actuator map[string]string `json:"actuator"`
	}
	rawMsg struct {
		Payload struct {
			RawMessage any   `json:"raw_message"`
			Timestamp  int64 `json:"timestamp"`
		} `json:"payload"`
		Version string `json:"connector_version"`
	}
	controlledItem struct {
		Sensor struct {
			Value string `json:"value"`
		} `json:"sensor"`
		Actuator struct {
			Value    string `json:"value"`
			Setpoint string `json:"setpoint"`
			Schedule string `json:"schedule"`
		} `json:"actuator"`
	}
)

// Python logging levels used in C/logs.
const (
	levelInfo    = 20
	levelWarning = 30
	levelError   = 40
)

// decodeObject decodes a JSON object strictly enough to name what is wrong.
func decodeObject(payload []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("malformed JSON: data after the value")
	}
	return nil
}

// pyJSON encodes a scalar as Python's json.dumps does, the encoding of
// BEMCom's REST values: floats keep a fraction (24.0), text is quoted.
func pyJSON(v any) string {
	f, ok := v.(float64)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return "null"
		}
		return string(b)
	}
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64) // like Python: 1e+16, 1.5e-05
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// fromJSONString decodes one of BEMCom's JSON-encoded REST values.
func fromJSONString(s string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("%q is not a JSON-encoded value: %w", model.Short(s), err)
	}
	return v, nil
}

// slug turns a connector name or key into a gridbox id: lower case, every
// other character than a-z, 0-9, _ and - becomes _.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || !model.ValidID(out) {
		out = "x" + out
	}
	return out
}

// formatOf guesses a datapoint format from a connector's example value.
func formatOf(example any) model.Format {
	switch x := example.(type) {
	case bool:
		return model.Bool
	case float64:
		return model.GenericNumeric
	case string:
		if _, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return model.GenericNumeric
		}
		return model.GenericText
	}
	return model.GenericNumeric
}

// coerce fits a connector's value to a datapoint's format: numbers sent as
// text become numbers.
func coerce(v any, f model.Format) any {
	if s, ok := v.(string); ok && f.Numeric() {
		if x, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return x
		}
	}
	return v
}

// example is the value shown in available_datapoints for a datapoint.
func example(p model.Datapoint, last *model.Value) any {
	if last != nil && last.Value != nil {
		return last.Value
	}
	switch {
	case p.Format == model.Bool:
		return false
	case p.Format.Numeric():
		if p.Min != nil {
			return *p.Min
		}
		return 0.0
	case len(p.Allowed) > 0:
		return p.Allowed[0]
	}
	return ""
}

// parseInterval reads the interval parameter of the value endpoint:
// PostgreSQL-style "15 minutes", "1 hour", "30 seconds", "1 day", "1 week",
// or a Go duration ("15m").
func parseInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	num, unit, ok := strings.Cut(s, " ")
	n, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("interval %q: want like \"15 minutes\"", model.Short(s))
	}
	units := map[string]time.Duration{"millisecond": time.Millisecond, "second": time.Second, "sec": time.Second,
		"minute": time.Minute, "min": time.Minute, "hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour}
	u, ok := units[strings.TrimSuffix(strings.ToLower(strings.TrimSpace(unit)), "s")]
	if !ok {
		return 0, fmt.Errorf("interval %q: unit %q: want milliseconds, seconds, minutes, hours, days or weeks", model.Short(s), model.Short(unit))
	}
	return time.Duration(n * float64(u)), nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func short(b []byte) string { return model.Short(string(b)) }
