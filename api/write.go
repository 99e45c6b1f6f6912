package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// maxBody is the largest accepted request body.
const maxBody = 64 << 10

// WriteResult is the answer to a successful write.
type WriteResult struct {
	OK        bool  `json:"ok"`
	Value     any   `json:"value"`     // as read back from the device
	Timestamp int64 `json:"timestamp"` // ms, when the write was applied
}

// handleWrite applies one write. Every write that reaches it is logged once
// here and counted once in the bus's write statistics: by refuseWrite when
// it is refused before the bus, by bus.Write otherwise.
func (s *Server) handleWrite(w http.ResponseWriter, r *http.Request) {
	device, name := pathKey(r)
	key := model.Key(device, name)
	if e := checkParams(r.URL.Query()); e != nil {
		s.refuseWrite(w, r, key, e)
		return
	}
	meta, _, _, ok := s.bus.Datapoint(device, name)
	if !ok {
		s.refuseWrite(w, r, key, unknownPoint(device, name))
		return
	}
	v, e := decodeWrite(w, r)
	if e != nil {
		s.refuseWrite(w, r, key, e)
		return
	}
	ctx, cancel := context.WithTimeout(bus.WithSource(r.Context(), bus.SourceREST), writeTimeout)
	defer cancel()
	got, err := s.bus.Write(ctx, device, name, v)
	if err != nil {
		e := classifyWrite(err, meta, v)
		msg := "write refused"
		if e.status == http.StatusBadGateway {
			msg = "write failed"
		}
		s.log.Warn(msg, "datapoint", key, "remote", r.RemoteAddr, "status", e.status, "reason", e.msg, "value", logValue(v))
		writeError(w, e)
		return
	}
	s.log.Info("write applied", "datapoint", key, "value", logValue(v), "read_back", logValue(got), "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, WriteResult{OK: true, Value: jsonSafe(got), Timestamp: model.NowMs()})
}

// refuseWrite answers a write refused before it reached the bus; it is
// counted as rejected like the bus's own refusals, and logged.
func (s *Server) refuseWrite(w http.ResponseWriter, r *http.Request, key string, e *httpError) {
	s.bus.CountRejected()
	s.log.Warn("write refused", "datapoint", model.Short(key), "remote", r.RemoteAddr, "status", e.status, "reason", e.msg)
	writeError(w, e)
}

// logValue is v as a log line shows it: long strings and anything that is
// not a scalar cut to model.ShortLen characters.
func logValue(v any) any {
	switch x := v.(type) {
	case nil, bool, float64:
		return v
	case string:
		return model.Short(x)
	}
	return model.Short(fmt.Sprint(v))
}

// decodeWrite reads a strict {"value": x} body of at most maxBody bytes
// (model.ParseWriteObject says what strict means).
func decodeWrite(w http.ResponseWriter, r *http.Request) (any, *httpError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, bodyError(err)
	}
	v, err := model.ParseWriteObject(body)
	if pe := (*model.PayloadError)(nil); errors.As(err, &pe) {
		return nil, errorf(http.StatusBadRequest, pe.Field, "%s", pe.Msg)
	}
	if err != nil {
		return nil, bodyError(err)
	}
	return v, nil
}

// bodyError names why a body could not be read.
func bodyError(err error) *httpError {
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return errorf(http.StatusBadRequest, "body", "body is larger than %d bytes", mbe.Limit)
	}
	return errorf(http.StatusBadRequest, "body", "body: %s", model.Short(err.Error()))
}

// classifyWrite maps an error of bus.Write for value v to a status; anything
// that is not a refusal by the bus came from the device (502).
func classifyWrite(err error, meta model.Datapoint, v any) *httpError {
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
		return errorf(http.StatusUnprocessableEntity, "value", "%s", clipValueIn(err.Error(), v))
	case errors.Is(err, bus.ErrRateLimited):
		return errorf(http.StatusTooManyRequests, "value", "%v", err)
	}
	if errors.As(err, &inv) {
		return errorf(http.StatusBadRequest, "value", "%s", clipValueIn(err.Error(), v))
	}
	return errorf(http.StatusBadGateway, "", "device %s failed to write %s: %v", meta.Device, meta.Name, err)
}

// clipValueIn cuts a long string value where msg quotes it whole, as
// model's "… not in allowed values" does.
func clipValueIn(msg string, v any) string {
	s, ok := v.(string)
	if !ok || model.Short(s) == s {
		return msg
	}
	return strings.ReplaceAll(msg, strconv.Quote(s), strconv.Quote(model.Short(s)))
}
