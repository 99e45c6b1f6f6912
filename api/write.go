package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// maxBody is the largest accepted request body.
const maxBody = 64 << 10

// WriteRequest is the body of PUT …/value.
type WriteRequest struct {
	Value json.RawMessage `json:"value"`
}

// WriteResult is the answer to a successful write.
type WriteResult struct {
	OK        bool  `json:"ok"`
	Value     any   `json:"value"`     // as read back from the device
	Timestamp int64 `json:"timestamp"` // ms, when the write was applied
}

func (s *Server) handleWrite(w http.ResponseWriter, r *http.Request) {
	device, name := pathKey(r)
	key := model.Key(device, name)
	if e := checkParams(r.URL.Query()); e != nil {
		writeError(w, e)
		return
	}
	meta, _, _, ok := s.bus.Datapoint(device, name)
	if !ok {
		writeError(w, unknownPoint(device, name))
		return
	}
	v, e := decodeWrite(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), writeTimeout)
	defer cancel()
	got, err := s.bus.Write(ctx, device, name, v)
	if err != nil {
		e := classifyWrite(err, meta)
		s.log.Warn("write rejected or failed", "datapoint", key, "value", v, "status", e.status, "err", err, "remote", r.RemoteAddr)
		writeError(w, e)
		return
	}
	s.log.Info("write applied", "datapoint", key, "value", v, "read_back", got, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, WriteResult{OK: true, Value: jsonSafe(got), Timestamp: model.NowMs()})
}

// decodeWrite reads a strict {"value": x} body of at most maxBody bytes.
func decodeWrite(w http.ResponseWriter, r *http.Request) (any, *httpError) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	var req WriteRequest
	if err := dec.Decode(&req); err != nil {
		return nil, bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, bodyError(err)
		}
		return nil, errorf(http.StatusBadRequest, "body", "body has data after the JSON object")
	}
	if req.Value == nil {
		return nil, errorf(http.StatusBadRequest, "value", `body has no "value" key: want {"value": x}`)
	}
	var v any
	if err := json.Unmarshal(req.Value, &v); err != nil {
		return nil, errorf(http.StatusBadRequest, "value", "value: %v", err)
	}
	return v, nil
}

// bodyError names what is wrong with a body the JSON decoder rejected.
func bodyError(err error) *httpError {
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return errorf(http.StatusBadRequest, "body", "body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "body", `body is empty: want {"value": x}`)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "body", "body is truncated JSON")
	case errors.As(err, &ute):
		return errorf(http.StatusBadRequest, "body", `body is a JSON %s: want an object {"value": x}`, ute.Value)
	case errors.As(err, &se):
		return errorf(http.StatusBadRequest, "body", "body is not JSON: %v (at byte %d)", err, se.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return errorf(http.StatusBadRequest, "body", `body has unknown key %s: want only "value"`, field)
	}
	return errorf(http.StatusBadRequest, "body", "body: %v", err)
}

// classifyWrite maps an error of bus.Write to a status; anything that is not
// a refusal by the bus came from the device (502).
func classifyWrite(err error, meta model.Datapoint) *httpError {
	var re *model.RangeError
	var inv *bus.InvalidError
	switch {
	case errors.Is(err, bus.ErrUnknown):
		return errorf(http.StatusNotFound, "", "unknown datapoint %s", meta.Key())
	case errors.Is(err, model.ErrNotWritable):
		return errorf(http.StatusConflict, "value", "%s: %v", meta.Key(), err)
	case errors.Is(err, bus.ErrNoWriter):
		return errorf(http.StatusConflict, "value", "%s: %v", meta.Key(), err)
	case errors.As(err, &re):
		return errorf(http.StatusUnprocessableEntity, "value", "%v", err)
	case errors.Is(err, bus.ErrRateLimited):
		return errorf(http.StatusTooManyRequests, "value", "%v", err)
	}
	if errors.As(err, &inv) {
		return errorf(http.StatusBadRequest, "value", "%v", err)
	}
	return errorf(http.StatusBadGateway, "", "device %s failed to write %s: %v", meta.Device, meta.Name, err)
}
