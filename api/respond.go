package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gridbox/gridbox/model"
)

// Error is the body of every error answer: what went wrong and, where one
// input is to blame, which ("value", "from", "device", …; "" otherwise).
type Error struct {
	Error string `json:"error"`
	Field string `json:"field"`
}

// httpError is an error with the status code and field it is answered with.
type httpError struct {
	status int
	field  string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// errorf builds an httpError; field may be "".
func errorf(status int, field, format string, args ...any) *httpError {
	return &httpError{status: status, field: field, msg: fmt.Sprintf(format, args...)}
}

// writeJSON answers v with status. Encoding errors can only come from a
// broken connection at this point, so they are not reported further.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError answers e as {"error", "field"}.
func writeError(w http.ResponseWriter, e *httpError) {
	writeJSON(w, e.status, Error{Error: e.msg, Field: e.field})
}

// checkParams rejects query parameters outside allowed and empty values.
func checkParams(q url.Values, allowed ...string) *httpError {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return errorf(http.StatusBadRequest, model.Short(k), "unknown query parameter %q: this endpoint takes none", model.Short(k))
			}
			return errorf(http.StatusBadRequest, model.Short(k), "unknown query parameter %q (valid: %s)", model.Short(k), strings.Join(allowed, ", "))
		}
		for _, v := range q[k] {
			if v == "" {
				return errorf(http.StatusBadRequest, k, "query parameter %q is empty", k)
			}
		}
	}
	return nil
}

// single returns the one value of query parameter k ("" when absent) and
// rejects repeated parameters.
func single(q url.Values, k string) (string, *httpError) {
	switch vs := q[k]; len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	default:
		return "", errorf(http.StatusBadRequest, k, "query parameter %q given %d times, want at most once", k, len(vs))
	}
}
