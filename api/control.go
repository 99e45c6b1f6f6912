package api

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// maxControlBody bounds a setpoint or schedule body.
const maxControlBody = 256 << 10

// Controls is what the API needs of the controller (sink.Controls).
type Controls interface {
	SetItems(device, name, what string, items []byte, ts int64) error
	Items(device, name, what string) (any, error)
	ControlState(device, name string) (any, error)
}

// controlError is the body of a refused setpoint or schedule: every problem.
type controlError struct {
	Error  string   `json:"error"`
	Field  string   `json:"field"`
	Errors []string `json:"errors"`
}

// handleGetItems answers GET …/setpoint and …/schedule with the list (null: none).
func (s *Server) handleGetItems(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		device, name := pathKey(r)
		if e := s.controlled(device, name); e != nil {
			writeError(w, e)
			return
		}
		items, err := s.opts.Controls.Items(device, name, what)
		if err != nil {
			writeError(w, controlFailure(err))
			return
		}
		writeJSON(w, http.StatusOK, items)
	}
}

// handlePutItems takes a setpoint or schedule: the body is the list of
// items, or null to clear it. Every problem is listed in the refusal.
func (s *Server) handlePutItems(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		device, name := pathKey(r)
		if e := s.controlled(device, name); e != nil {
			writeError(w, e)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
		if err != nil {
			writeError(w, errorf(http.StatusRequestEntityTooLarge, "body", "body: at most %d bytes", maxControlBody))
			return
		}
		if err := s.opts.Controls.SetItems(device, name, what, body, 0); err != nil {
			var list interface{ Problems() []string }
			if errors.As(err, &list) {
				s.log.Info(what+" refused", "datapoint", model.Key(device, name), "remote", r.RemoteAddr, "err", err)
				writeJSON(w, http.StatusUnprocessableEntity, controlError{Error: strings.Join(list.Problems(), "; "), Field: "body", Errors: list.Problems()})
				return
			}
			writeError(w, controlFailure(err))
			return
		}
		s.log.Info(what+" set", "datapoint", model.Key(device, name), "remote", r.RemoteAddr)
		items, _ := s.opts.Controls.Items(device, name, what)
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, what: items})
	}
}

// handleControlState answers GET …/control: the decision and its reason.
func (s *Server) handleControlState(w http.ResponseWriter, r *http.Request) {
	device, name := pathKey(r)
	if e := s.controlled(device, name); e != nil {
		writeError(w, e)
		return
	}
	st, err := s.opts.Controls.ControlState(device, name)
	if err != nil {
		writeError(w, controlFailure(err))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// controlled checks that the datapoint exists and a controller is configured.
func (s *Server) controlled(device, name string) *httpError {
	if _, _, _, ok := s.bus.Datapoint(device, name); !ok {
		return unknownPoint(device, name)
	}
	if s.opts.Controls == nil {
		return errorf(http.StatusNotFound, "", "%s: %v", model.Short(model.Key(device, name)), model.ErrNotControlled)
	}
	return nil
}

func controlFailure(err error) *httpError {
	if errors.Is(err, model.ErrNotControlled) {
		return errorf(http.StatusNotFound, "", "%v", err)
	}
	return errorf(http.StatusInternalServerError, "", "%v", err)
}
