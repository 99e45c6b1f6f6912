package broker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// wsListener serves MQTT over WebSocket (subprotocol "mqtt", binary
// frames) for browsers, on a listener opened by Start so that a taken port
// is an error there and port 0 works. Browsers must come from the same
// origin as the listener or from one of the allowed origin patterns;
// clients that send no Origin (not browsers) are accepted.
type wsListener struct {
	id      string
	ln      net.Listener
	origins []string
	srv     *http.Server
	log     *slog.Logger

	establish listeners.EstablishFn // set by Serve before the first connection is accepted
	ctx       context.Context       // ends every connection on Close
	cancel    context.CancelFunc

	// Close waits for every handler, so that none calls establish once the
	// server waits for its clients (mochi's WaitGroup must not be added to then).
	mu       sync.Mutex
	closed   bool
	handlers sync.WaitGroup
}

func newWSListener(id string, ln net.Listener, origins []string) *wsListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &wsListener{id: id, ln: ln, origins: origins, ctx: ctx, cancel: cancel, log: slog.New(slog.DiscardHandler)}
	l.srv = &http.Server{
		Handler:           http.HandlerFunc(l.handle),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	return l
}

func (l *wsListener) ID() string       { return l.id }
func (l *wsListener) Address() string  { return l.ln.Addr().String() }
func (l *wsListener) Protocol() string { return "ws" }

func (l *wsListener) Init(log *slog.Logger) error {
	l.log = log
	return nil
}

func (l *wsListener) Serve(establish listeners.EstablishFn) {
	l.establish = establish
	if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		l.log.Error("MQTT WebSocket listener stopped", "listener", l.id, "error", err)
	}
}

func (l *wsListener) handle(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"mqtt"}, OriginPatterns: l.origins})
	if err != nil {
		return // Accept has answered (403 for a foreign origin, 400 for a bad handshake)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		c.Close(websocket.StatusGoingAway, "broker stopping")
		return
	}
	l.handlers.Add(1)
	l.mu.Unlock()
	defer l.handlers.Done()
	c.SetReadLimit(-1) // the broker enforces max_packet_size itself
	conn := &wsConn{Conn: websocket.NetConn(l.ctx, c, websocket.MessageBinary), remote: r.RemoteAddr}
	if err := l.establish(l.id, conn); err != nil {
		l.log.Debug("MQTT WebSocket client ended", "remote", r.RemoteAddr, "error", err)
	}
	conn.Close()
}

func (l *wsListener) Close(closeClients listeners.CloseFn) {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.cancel() // ends connections not yet registered as clients
	closeClients(l.id)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.srv.Shutdown(ctx)
	_ = l.ln.Close() // Shutdown before Serve leaves it open
	l.handlers.Wait()
}

// wsConn reports the HTTP peer's address (NetConn's RemoteAddr is a
// placeholder), so logs and the per-host connection rate see the client.
type wsConn struct {
	net.Conn
	remote string
}

type wsAddr string

func (a wsAddr) Network() string { return "websocket" }
func (a wsAddr) String() string  { return string(a) }

func (c *wsConn) RemoteAddr() net.Addr { return wsAddr(c.remote) }
