package ocpp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// ErrOffline is returned for a call to a charge point that is not connected.
var ErrOffline = errors.New("charge point is not connected")

// conn is one WebSocket connection of a charge point.
type conn struct {
	s    *Server
	cp   *chargePoint
	ws   *websocket.Conn
	ctx  context.Context // done when the connection ends
	seq  atomic.Uint64
	sem  chan struct{} // one call of ours outstanding at a time (OCPP-J §4.1.1)
	mu   sync.Mutex
	wait map[string]chan reply // calls sent, by unique id
	wg   sync.WaitGroup        // goroutines of the connection (work after an answer)
	then []func()              // run after the current call is answered (read loop only)
}

// reply is a charge point's answer to a call.
type reply struct {
	payload json.RawMessage
	err     *callError
}

// serveConn runs one connection until it or ctx ends; a second connection
// of the same charge point replaces the first.
func (s *Server) serveConn(ctx context.Context, id string, ws *websocket.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cp := s.chargePoint(id)
	c := &conn{s: s, cp: cp, ws: ws, ctx: ctx, sem: make(chan struct{}, 1), wait: map[string]chan reply{}}
	if old := cp.attach(c); old != nil {
		old.ws.Close(websocket.StatusPolicyViolation, "replaced by a new connection")
	}
	s.m.connected.Inc()
	s.log.Info("charge point connected", "charge_point", id)
	s.online(cp, true, "")
	if d := s.cfg.Ping.D(); d > 0 {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); c.pinger(ctx, cancel, d) }()
	}
	err := c.readLoop(ctx)
	cancel()
	c.wg.Wait()
	ws.Close(websocket.StatusNormalClosure, "")
	s.m.connected.Dec()
	if cp.detach(c) {
		s.online(cp, false, "disconnected")
	}
	s.log.Info("charge point disconnected", "charge_point", id, "error", err)
}

// pinger pings every d and ends the connection when a pong does not come
// within call_timeout: a charge point whose network went away is found
// offline without waiting for TCP.
func (c *conn) pinger(ctx context.Context, stop context.CancelFunc, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, c.s.cfg.CallTimeout.D())
		err := c.ws.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			c.s.log.Warn("no pong: connection closed", "charge_point", c.cp.id, "error", err)
			stop()
			return
		}
	}
}

// readLoop reads and dispatches messages until the connection ends.
func (c *conn) readLoop(ctx context.Context) error {
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			return err
		}
		c.s.m.messages.Inc()
		if typ != websocket.MessageText {
			c.sendError(unknownID, &callError{FormationViolation, "OCPP-J messages are text frames"})
			continue
		}
		f, cerr := decodeFrame(b)
		if cerr != nil {
			c.s.log.Warn("malformed message", "charge_point", c.cp.id, "error", cerr)
			if f.Type == 0 || f.Type == msgCall {
				c.sendError(f.ID, cerr)
			}
			continue
		}
		switch f.Type {
		case msgCall:
			c.handleCall(f)
			c.runThen()
		default:
			c.resolve(f)
		}
	}
}

// send writes one message.
func (c *conn) send(b []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.CallTimeout.D())
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("send to %s: %w", c.cp.id, err)
	}
	return nil
}

// sendError answers a call with a CallError and counts it.
func (c *conn) sendError(id string, e *callError) {
	c.s.m.callErrors.WithLabelValues(e.Code).Inc()
	c.s.badInput(c.cp, e)
	b, err := encodeError(id, e)
	if err == nil {
		err = c.send(b)
	}
	if err != nil {
		c.s.log.Warn("CallError not sent", "charge_point", c.cp.id, "error", err)
	}
}

// handleCall validates and answers one call of the charge point.
func (c *conn) handleCall(f frame) {
	if !c.s.sch.known(f.Action) {
		c.sendError(f.ID, &callError{NotImplemented, fmt.Sprintf("%q is not an OCPP 1.6 action", shorten(f.Action))})
		return
	}
	h := handlerFor(f.Action)
	if h == nil {
		c.sendError(f.ID, &callError{NotSupported, f.Action + " is not supported by this central system"})
		return
	}
	if cerr := c.s.sch.validate(f.Action, false, f.Payload); cerr != nil {
		c.sendError(f.ID, cerr)
		return
	}
	resp, cerr := h(c, f.Payload)
	if cerr != nil {
		c.sendError(f.ID, cerr)
		return
	}
	b, err := json.Marshal(resp)
	if err == nil {
		if verr := c.s.sch.validate(f.Action, true, b); verr != nil {
			err = verr
		}
	}
	if err != nil { // our answer does not validate: a bug, never sent
		c.s.log.Error("answer does not validate", "charge_point", c.cp.id, "action", f.Action, "error", err)
		c.sendError(f.ID, &callError{InternalError, "the central system could not build a valid answer"})
		return
	}
	if b, err = encodeResult(f.ID, b); err == nil {
		err = c.send(b)
	}
	if err != nil {
		c.s.log.Warn("answer not sent", "charge_point", c.cp.id, "action", f.Action, "error", err)
	}
}

// afterAnswer runs f on its own goroutine once the call being handled is
// answered (a call of ours must not overtake the answer).
func (c *conn) afterAnswer(f func()) { c.then = append(c.then, f) }

func (c *conn) runThen() {
	for _, f := range c.then {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); f() }()
	}
	c.then = nil
}

// resolve hands a CallResult or CallError to the call waiting for it.
func (c *conn) resolve(f frame) {
	c.mu.Lock()
	ch, ok := c.wait[f.ID]
	delete(c.wait, f.ID)
	c.mu.Unlock()
	if !ok {
		c.s.log.Warn("answer to no pending call (late or unknown id) dropped", "charge_point", c.cp.id, "id", shorten(f.ID))
		return
	}
	r := reply{payload: f.Payload}
	if f.Type == msgCallError {
		e := f.Err
		r.err = &e
	}
	ch <- r
}

// call sends action with req, waits for the answer (up to call_timeout),
// checks it against the confirmation schema and decodes it into resp.
func (c *conn) call(ctx context.Context, action string, req, resp any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	if verr := c.s.sch.validate(action, false, b); verr != nil {
		return fmt.Errorf("%s: request does not validate: %w", action, verr)
	}
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", action, ctx.Err())
	case <-c.ctx.Done():
		return fmt.Errorf("%s: %w", action, ErrOffline)
	}
	id := strconv.FormatUint(c.seq.Add(1), 10)
	ch := make(chan reply, 1)
	c.mu.Lock()
	c.wait[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.wait, id)
		c.mu.Unlock()
	}()
	msg, err := encodeCall(id, action, b)
	if err == nil {
		err = c.send(msg)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	return c.await(ctx, action, ch, resp)
}

// await waits for the answer to a sent call.
func (c *conn) await(ctx context.Context, action string, ch chan reply, resp any) error {
	t := time.NewTimer(c.s.cfg.CallTimeout.D())
	defer t.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			return fmt.Errorf("%s: charge point answered %w", action, r.err)
		}
		if verr := c.s.sch.validate(action, true, r.payload); verr != nil {
			return fmt.Errorf("%s: answer does not validate: %w", action, verr)
		}
		if err := json.Unmarshal(r.payload, resp); err != nil {
			return fmt.Errorf("%s: answer: %w", action, err)
		}
		return nil
	case <-t.C:
		c.s.m.timeouts.Inc()
		return fmt.Errorf("%s: %w after %v", action, errTimeout, c.s.cfg.CallTimeout.D())
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", action, ctx.Err())
	case <-c.ctx.Done():
		return fmt.Errorf("%s: %w", action, ErrOffline)
	}
}

var errTimeout = errors.New("no answer")
