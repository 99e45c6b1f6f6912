package xmlrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Client calls methods of one XML-RPC server.
type Client struct {
	URL     string
	HTTP    *http.Client // nil: http.DefaultClient
	MaxBody int64        // cap of a response body; 0: DefaultMaxBody
}

// Call calls method and returns its result. A fault is a *Fault; an
// answer that is not XML-RPC wraps ErrMalformed (or ErrTooLarge).
func (c *Client) Call(ctx context.Context, method string, params ...any) (any, error) {
	body, err := EncodeCall(method, params...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	req.Header.Set("Content-Type", "text/xml")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %s", method, resp.Status)
	}
	v, err := DecodeResponse(resp.Body, c.MaxBody)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return v, nil
}

// Handler answers one call; returning a *Fault sends that fault, another
// error a fault with code -1.
type Handler func(ctx context.Context, method string, params []any) (any, error)

// Server is an http.Handler that decodes calls, hands them to Handle and
// encodes the answers. It implements system.multicall itself.
type Server struct {
	Handle  Handler
	MaxBody int64 // cap of a request body; 0: DefaultMaxBody
	// Malformed, if set, is told of every request that could not be decoded.
	Malformed func(err error)
}

// Fault codes of the server.
const (
	FaultParse   = -32700
	FaultMethod  = -32601
	FaultParams  = -32602
	FaultHandler = -1
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "XML-RPC wants POST", http.StatusMethodNotAllowed)
		return
	}
	method, params, err := DecodeCall(r.Body, s.MaxBody)
	var out []byte
	if err != nil {
		if s.Malformed != nil {
			s.Malformed(err)
		}
		out = EncodeFault(&Fault{Code: FaultParse, String: err.Error()})
	} else {
		out = s.answer(r.Context(), method, params)
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(out) // the caller went away: nothing left to do
}

// answer runs one call and encodes its result or fault.
func (s *Server) answer(ctx context.Context, method string, params []any) []byte {
	v, err := s.call(ctx, method, params)
	if err == nil {
		out, encErr := EncodeResponse(v)
		if encErr == nil {
			return out
		}
		err = encErr
	}
	return EncodeFault(asFault(err))
}

func asFault(err error) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	return &Fault{Code: FaultHandler, String: err.Error()}
}

func (s *Server) call(ctx context.Context, method string, params []any) (any, error) {
	if method != "system.multicall" {
		return s.Handle(ctx, method, params)
	}
	if len(params) != 1 {
		return nil, &Fault{Code: FaultParams, String: "system.multicall takes one array"}
	}
	calls, ok := params[0].([]any)
	if !ok {
		return nil, &Fault{Code: FaultParams, String: "system.multicall takes one array"}
	}
	out := make([]any, len(calls))
	for i, c := range calls {
		out[i] = s.one(ctx, c)
	}
	return out, nil
}

// one runs one call of a multicall: its result wrapped in an array, or a
// fault struct.
func (s *Server) one(ctx context.Context, c any) any {
	m, ok := c.(map[string]any)
	name, _ := m["methodName"].(string)
	ps, psOK := m["params"].([]any)
	if !ok || name == "" || name == "system.multicall" || (m["params"] != nil && !psOK) {
		return map[string]any{"faultCode": FaultParams, "faultString": "want {methodName, params}"}
	}
	v, err := s.Handle(ctx, name, ps)
	if err != nil {
		f := asFault(err)
		return map[string]any{"faultCode": f.Code, "faultString": f.String}
	}
	return []any{v}
}
