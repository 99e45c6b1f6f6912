package mqtt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gridbox/gridbox/model"
)

// controlResult is the payload of …/setpoint/result and …/schedule/result.
type controlResult struct {
	OK     bool     `json:"ok"`
	Errors []string `json:"errors,omitempty"`
}

// applyControl hands a setpoint or schedule message — {"setpoint": [items]
// | null, "timestamp": ms} (or "schedule") — to the controller.
func (p *Publisher) applyControl(req setRequest) controlResult {
	log := p.log.With("device", req.device, "datapoint", req.name, "topic", req.what)
	if req.payload == nil {
		return controlResult{Errors: []string{fmt.Sprintf("payload too large: %d bytes (max %d)", req.size, maxWritePayload)}}
	}
	if len(req.payload) == 0 { // clearing a retained message: not a request
		return controlResult{OK: true}
	}
	items, ts, err := decodeControl(req.payload, req.what)
	if err == nil {
		if p.o.Controls == nil {
			err = fmt.Errorf("%s: %w", model.Short(model.Key(req.device, req.name)), model.ErrNotControlled)
		} else {
			err = p.o.Controls.SetItems(req.device, req.name, req.what, items, ts)
		}
	}
	if err != nil {
		var list interface{ Problems() []string }
		res := controlResult{Errors: []string{err.Error()}}
		if errors.As(err, &list) {
			res.Errors = list.Problems()
		}
		log.Info(req.what+" refused", "err", err)
		return res
	}
	log.Info(req.what + " accepted")
	return controlResult{OK: true}
}

// decodeControl reads the building framework's message: exactly the key
// what (a list or null) and timestamp (ms).
func decodeControl(payload []byte, what string) (json.RawMessage, int64, error) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, 0, fmt.Errorf(`payload: want {"%s": [items] | null, "timestamp": ms}`, what)
	}
	items, ok := m[what]
	if !ok {
		return nil, 0, fmt.Errorf("payload: missing key %q", what)
	}
	var ts int64
	if raw, ok := m["timestamp"]; ok {
		if err := json.Unmarshal(raw, &ts); err != nil {
			return nil, 0, fmt.Errorf("payload: timestamp: want integer milliseconds")
		}
	}
	for k := range m {
		if k != what && k != "timestamp" {
			return nil, 0, fmt.Errorf("payload: unknown key %q", model.Short(k))
		}
	}
	return items, ts, nil
}

// answerControl publishes the result on …/<what>/result.
func (p *Publisher) answerControl(req setRequest, r controlResult) {
	topic := p.o.Prefix + "/" + req.device + "/" + req.name + "/" + req.what + "/result"
	b, _ := json.Marshal(r)
	if err := p.send(topic, b, 1, false); err != nil {
		p.log.Warn(req.what+" result not published", "device", req.device, "datapoint", req.name, "err", err)
	}
}
