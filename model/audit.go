package model

import (
	"context"
	"encoding/json"
	"errors"
)

// ErrNotControlled answers a setpoint or schedule for an actuator that no
// `control:` pair names.
var ErrNotControlled = errors.New("not a controlled actuator (add it to control:)")

// Write results as the audit log records them.
const (
	AuditApplied = "applied" // the device took the value
	AuditRefused = "refused" // the write path refused it before the device (limits, rate, protect)
	AuditFailed  = "failed"  // the device did not take it (I/O error, exception, read-back mismatch)
)

// AuditRecord is one write as the audit log keeps it. A value that was
// skipped because the device already holds it is not a write and has none.
type AuditRecord struct {
	Time      int64  `json:"time"`            // ms since the epoch
	Source    string `json:"source"`          // who asked: mqtt, rest, control, loadmanagement, uplink, modbus_proxy, ...
	Datapoint string `json:"datapoint"`       // "<device>/<name>" as asked for
	Old       any    `json:"old"`             // the last value before the write; nil if none
	Value     any    `json:"value"`           // the value asked for
	Result    string `json:"result"`          // AuditApplied, AuditRefused or AuditFailed
	Error     string `json:"error,omitempty"` // why it was refused or failed
}

// AuditQuery selects audit records in [From, To] (ms, inclusive), of one
// datapoint when Datapoint is set, oldest first, at most Limit (0: all).
type AuditQuery struct {
	From, To  int64
	Datapoint string
	Limit     int
}

// AuditLog keeps the audit records: the store implements it.
type AuditLog interface {
	Audit(ctx context.Context, r AuditRecord) error
	AuditRecords(ctx context.Context, q AuditQuery) ([]AuditRecord, error)
}

// EncodeAuditValue is how stores keep Old and Value: JSON text, "" for nil.
func EncodeAuditValue(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// DecodeAuditValue reverses EncodeAuditValue.
func DecodeAuditValue(s string) any {
	if s == "" {
		return nil
	}
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	return v
}
