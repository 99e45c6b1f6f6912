package knx

import (
	"net"
	"sync"

	"github.com/vapourismo/knx-go/knx/cemi"
	"github.com/vapourismo/knx-go/knx/knxnet"
)

// router is KNXnet/IP routing: telegrams are routing indications sent to
// and received from a multicast group (224.0.23.12:3671 by default). Like
// tunnel it unpacks every frame under recover. Routing flow control
// (ROUTING_BUSY) is not implemented: gridbox sends little.
type router struct {
	in, out *net.UDPConn
	inbound chan cemi.Message
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// dialRouter joins the multicast group addr on the default interface.
func dialRouter(addr string) (*router, error) {
	group, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, err
	}
	in, err := net.ListenMulticastUDP("udp4", nil, group)
	if err != nil {
		return nil, err
	}
	out, err := net.DialUDP("udp4", nil, group)
	if err != nil {
		in.Close()
		return nil, err
	}
	r := &router{in: in, out: out, inbound: make(chan cemi.Message, 256), done: make(chan struct{})}
	r.wg.Add(1)
	go r.read()
	return r, nil
}

func (r *router) read() {
	defer r.wg.Done()
	defer close(r.inbound)
	buf := make([]byte, 1024)
	for {
		n, err := r.in.Read(buf)
		if err != nil {
			return
		}
		srv, err := unpack(buf[:n])
		ind, ok := srv.(*knxnet.RoutingInd)
		if err != nil || !ok {
			continue
		}
		select {
		case r.inbound <- ind.Payload:
		case <-r.done:
			return
		}
	}
}

// Send sends a telegram as a routing indication.
func (r *router) Send(m cemi.Message) error {
	if req, ok := m.(*cemi.LDataReq); ok {
		m = &cemi.LDataInd{LData: req.LData}
	}
	_, err := r.out.Write(knxnet.AllocAndPack(&knxnet.RoutingInd{Payload: m}))
	return err
}

// Inbound delivers the group's telegrams; it is closed when the socket fails.
func (r *router) Inbound() <-chan cemi.Message { return r.inbound }

// Close leaves the group and waits for the reader.
func (r *router) Close() {
	r.once.Do(func() {
		close(r.done)
		r.in.Close()
		r.out.Close()
		r.wg.Wait()
	})
}
