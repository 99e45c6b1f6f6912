package knx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/vapourismo/knx-go/knx/cemi"
	"github.com/vapourismo/knx-go/knx/knxnet"
)

// tunnel is a KNXnet/IP tunnelling connection over UDP. It uses knx-go's
// frame types but not its client: knx-go's unpackers panic on some
// malformed frames (FuzzTelegram found one), which in its receive
// goroutine would stop the whole gateway; here every frame is unpacked
// under recover and a bad one is dropped.
type tunnel struct {
	conn    *net.UDPConn
	channel uint8
	timeout time.Duration

	inbound chan cemi.Message
	acks    chan *knxnet.TunnelRes
	states  chan knxnet.ErrCode
	lost    chan struct{} // closed when the reader ends
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
	once    sync.Once

	sendMu sync.Mutex
	seq    uint8 // next sequence number of our requests
}

// ackTimeout is how long a tunnelling request waits for its ack before
// it is sent again (once), as KNXnet/IP specifies.
const ackTimeout = time.Second

// dialTunnel connects to the gateway at addr and starts the reader and the
// heartbeat.
func dialTunnel(ctx context.Context, addr string, timeout, heartbeat time.Duration) (*tunnel, error) {
	raddr, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp4", nil, raddr)
	if err != nil {
		return nil, err
	}
	t := &tunnel{conn: conn, timeout: timeout, inbound: make(chan cemi.Message, 256),
		acks: make(chan *knxnet.TunnelRes, 1), states: make(chan knxnet.ErrCode, 1),
		lost: make(chan struct{}), done: make(chan struct{})}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) }) // ctx ends the wait
	err = t.connect()
	if !stop() || err != nil {
		conn.Close()
		return nil, cmp.Or(err, ctx.Err())
	}
	t.wg.Add(2)
	go t.read()
	go t.heartbeat(heartbeat)
	return t, nil
}

// connect sends a connection request and waits for the response.
func (t *tunnel) connect() error {
	nat := knxnet.HostInfo{Protocol: knxnet.UDP4} // 0.0.0.0:0: answer to where the request came from
	if err := t.send(&knxnet.ConnReq{Layer: knxnet.TunnelLayerData, Control: nat, Tunnel: nat}); err != nil {
		return err
	}
	deadline := time.Now().Add(t.timeout)
	buf := make([]byte, 1024)
	for {
		_ = t.conn.SetReadDeadline(deadline)
		n, err := t.conn.Read(buf)
		if err != nil {
			return fmt.Errorf("no connect response: %w", err)
		}
		srv, err := unpack(buf[:n])
		if res, ok := srv.(*knxnet.ConnRes); ok && err == nil {
			if res.Status != knxnet.NoError {
				return fmt.Errorf("gateway refused the tunnel: %v", res.Status)
			}
			t.channel = res.Channel
			return t.conn.SetReadDeadline(time.Time{})
		}
	}
}

// unpack parses a KNXnet/IP frame; a frame knx-go panics on is an error.
func unpack(b []byte) (srv knxnet.Service, err error) {
	defer func() {
		if r := recover(); r != nil {
			srv, err = nil, fmt.Errorf("malformed frame: %v", r)
		}
	}()
	_, err = knxnet.Unpack(b, &srv)
	return srv, err
}

func (t *tunnel) send(s knxnet.ServicePackable) error {
	_, err := t.conn.Write(knxnet.AllocAndPack(s))
	return err
}

// read handles the gateway's frames until the socket fails or is closed;
// it then closes inbound and lost.
func (t *tunnel) read() {
	defer t.wg.Done()
	defer close(t.lost)
	defer close(t.inbound)
	buf := make([]byte, 1024)
	var expect uint8 // sequence number of the gateway's next request
	for {
		n, err := t.conn.Read(buf)
		if err != nil {
			return
		}
		srv, err := unpack(buf[:n])
		if err != nil {
			continue
		}
		switch s := srv.(type) {
		case *knxnet.TunnelReq:
			if s.Channel != t.channel {
				continue
			}
			switch s.SeqNumber {
			case expect:
				expect++
				select {
				case t.inbound <- s.Payload:
				case <-t.done:
					return
				}
			case expect - 1: // our ack was lost: ack again, do not deliver twice
			default:
				continue
			}
			_ = t.send(&knxnet.TunnelRes{Channel: t.channel, SeqNumber: s.SeqNumber})
		case *knxnet.TunnelRes:
			offer(t.acks, s)
		case *knxnet.ConnStateRes:
			offer(t.states, s.Status)
		case *knxnet.DiscReq:
			_ = t.send(&knxnet.DiscRes{Channel: t.channel})
			return
		}
	}
}

// offer hands v to a waiting receiver, replacing a value nobody took.
func offer[T any](c chan T, v T) {
	select {
	case <-c:
	default:
	}
	select {
	case c <- v:
	default:
	}
}

// heartbeat checks the connection state every interval; after three
// unanswered checks (or a bad state) it closes the socket, which ends the
// reader: the tunnel is lost.
func (t *tunnel) heartbeat(interval time.Duration) {
	defer t.wg.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-t.lost:
			return
		case <-tick.C:
		}
		if !t.alive() {
			t.conn.Close()
			return
		}
	}
}

func (t *tunnel) alive() bool {
	for range 3 {
		req := &knxnet.ConnStateReq{Channel: t.channel, Control: knxnet.HostInfo{Protocol: knxnet.UDP4}}
		if t.send(req) != nil {
			return false
		}
		select {
		case st := <-t.states:
			return st == knxnet.NoError
		case <-time.After(min(t.timeout, 10*time.Second)):
		case <-t.done:
			return true
		case <-t.lost:
			return false
		}
	}
	return false
}

// Send tunnels a message and waits for the gateway's ack, sending it once
// more after ackTimeout; a request that is not acked loses the tunnel.
func (t *tunnel) Send(m cemi.Message) error {
	if ind, ok := m.(*cemi.LDataInd); ok {
		m = &cemi.LDataReq{LData: ind.LData}
	}
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	req := &knxnet.TunnelReq{Channel: t.channel, SeqNumber: t.seq, Payload: m}
	for range 2 {
		if err := t.send(req); err != nil {
			return err
		}
		timer := time.NewTimer(min(ackTimeout, t.timeout))
		for waiting := true; waiting; {
			select {
			case res := <-t.acks:
				if res.SeqNumber != req.SeqNumber || res.Channel != t.channel {
					continue
				}
				timer.Stop()
				t.seq++
				if res.Status != knxnet.NoError {
					return fmt.Errorf("gateway refused the telegram: %v", res.Status)
				}
				return nil
			case <-timer.C:
				waiting = false
			case <-t.lost:
				timer.Stop()
				return errors.New("tunnel lost")
			}
		}
	}
	t.conn.Close()
	return errors.New("gateway did not acknowledge the telegram: tunnel closed")
}

// Inbound delivers the gateway's messages; it is closed when the tunnel is lost.
func (t *tunnel) Inbound() <-chan cemi.Message { return t.inbound }

// Close disconnects and waits for the tunnel's goroutines.
func (t *tunnel) Close() {
	t.once.Do(func() {
		close(t.done)
		_ = t.send(&knxnet.DiscReq{Channel: t.channel, Control: knxnet.HostInfo{Protocol: knxnet.UDP4}})
		t.conn.Close()
		t.wg.Wait()
	})
}
