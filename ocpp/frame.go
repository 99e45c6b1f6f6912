package ocpp

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// OCPP-J message type ids.
const (
	msgCall       = 2
	msgCallResult = 3
	msgCallError  = 4
)

// OCPP 1.6 CallError codes (OCPP-J 1.6 §4.2.3, with the errata spellings).
const (
	NotImplemented                = "NotImplemented"
	NotSupported                  = "NotSupported"
	InternalError                 = "InternalError"
	ProtocolError                 = "ProtocolError"
	SecurityError                 = "SecurityError"
	FormationViolation            = "FormationViolation"
	PropertyConstraintViolation   = "PropertyConstraintViolation"
	OccurrenceConstraintViolation = "OccurrenceConstraintViolation"
	TypeConstraintViolation       = "TypeConstraintViolation"
	GenericError                  = "GenericError"
)

// maxIDLen is the longest unique message id OCPP-J 1.6 allows.
const maxIDLen = 36

// frame is one decoded OCPP-J message.
type frame struct {
	Type    int
	ID      string
	Action  string          // Call
	Payload json.RawMessage // Call, CallResult
	Err     callError       // CallError
}

// callError is an OCPP CallError code with its description.
type callError struct {
	Code string
	Desc string
}

func (e *callError) Error() string { return e.Code + ": " + e.Desc }

// unknownID is the message id of a CallError answering a frame whose own id
// cannot be read.
const unknownID = "-1"

// decodeFrame parses one WebSocket text message. On error it returns the
// CallError to answer with and the frame as far as it was read (its ID, or
// unknownID; its Type, 0 when unreadable). Only Calls are answered.
func decodeFrame(b []byte) (frame, *callError) {
	f := frame{ID: unknownID}
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil {
		return f, &callError{FormationViolation, "message is not a JSON array"}
	}
	if len(parts) < 3 {
		return f, &callError{FormationViolation, fmt.Sprintf("message has %d elements, want at least 3", len(parts))}
	}
	var typ int
	if err := json.Unmarshal(parts[0], &typ); err != nil || (typ != msgCall && typ != msgCallResult && typ != msgCallError) {
		return f, &callError{FormationViolation, "message type id is not 2, 3 or 4"}
	}
	var id string
	if err := json.Unmarshal(parts[1], &id); err != nil {
		return f, &callError{FormationViolation, "unique id is not a string"}
	}
	if id == "" || len(id) > maxIDLen {
		return f, &callError{FormationViolation, fmt.Sprintf("unique id must have 1 to %d characters", maxIDLen)}
	}
	f.Type, f.ID = typ, id
	switch typ {
	case msgCall:
		return f.decodeCall(parts)
	case msgCallResult:
		if len(parts) != 3 {
			return f, &callError{FormationViolation, "CallResult must have 3 elements"}
		}
		f.Payload = parts[2]
	default:
		return f.decodeError(parts)
	}
	return f, nil
}

func (f frame) decodeCall(parts []json.RawMessage) (frame, *callError) {
	if len(parts) == 3 {
		return f, &callError{ProtocolError, "Call has no payload"}
	}
	if len(parts) != 4 {
		return f, &callError{FormationViolation, "Call must have 4 elements"}
	}
	if err := json.Unmarshal(parts[2], &f.Action); err != nil || f.Action == "" {
		return f, &callError{FormationViolation, "action is not a non-empty string"}
	}
	f.Payload = parts[3]
	return f, nil
}

func (f frame) decodeError(parts []json.RawMessage) (frame, *callError) {
	if len(parts) != 5 {
		return f, &callError{FormationViolation, "CallError must have 5 elements"}
	}
	if json.Unmarshal(parts[2], &f.Err.Code) != nil || json.Unmarshal(parts[3], &f.Err.Desc) != nil {
		return f, &callError{FormationViolation, "CallError code and description must be strings"}
	}
	if !bytes.HasPrefix(bytes.TrimSpace(parts[4]), []byte("{")) {
		return f, &callError{FormationViolation, "CallError details must be an object"}
	}
	return f, nil
}

// encodeCall, encodeResult and encodeError build outgoing messages; payload
// must be valid JSON (an object).
func encodeCall(id, action string, payload []byte) ([]byte, error) {
	return encode(msgCall, id, action, json.RawMessage(payload))
}

func encodeResult(id string, payload []byte) ([]byte, error) {
	return encode(msgCallResult, id, json.RawMessage(payload))
}

func encodeError(id string, e *callError) ([]byte, error) {
	return encode(msgCallError, id, e.Code, e.Desc, struct{}{})
}

func encode(typ int, id string, rest ...any) ([]byte, error) {
	b, err := json.Marshal(append([]any{typ, id}, rest...))
	if err != nil {
		return nil, fmt.Errorf("encode message: %w", err)
	}
	return b, nil
}
