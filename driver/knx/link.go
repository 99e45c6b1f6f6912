package knx

import (
	"context"
	"fmt"

	"github.com/vapourismo/knx-go/knx/cemi"
)

// link is one connection to the KNX bus: a tunnel to a KNX/IP gateway or
// the routing multicast group. Inbound is closed when the link is lost.
type link interface {
	Send(cemi.Message) error
	Inbound() <-chan cemi.Message
	Close()
}

// dialer opens a link to addr (host:port); ctx ends a connect attempt early.
type dialer func(ctx context.Context, addr string, cfg *Config) (link, error)

// dial opens a tunnel or joins the routing group, as cfg.Mode says.
func dial(ctx context.Context, addr string, cfg *Config) (link, error) {
	if cfg.Mode == "routing" {
		r, err := dialRouter(addr)
		if err != nil {
			return nil, fmt.Errorf("knx routing %s: %w", addr, err)
		}
		return r, nil
	}
	t, err := dialTunnel(ctx, addr, cfg.Timeout.D(), cfg.Heartbeat.D())
	if err != nil {
		return nil, fmt.Errorf("knx tunnel %s: %w", addr, err)
	}
	return t, nil
}

// groupTelegram builds a group telegram (read, response or write) to ga.
func groupTelegram(cmd cemi.APCI, ga cemi.GroupAddr, data []byte) *cemi.LDataInd {
	if len(data) == 0 {
		data = []byte{0}
	}
	ld := cemi.LData{
		Control1:    cemi.Control1NoRepeat | cemi.Control1NoSysBroadcast | cemi.Control1WantAck | cemi.Control1Prio(cemi.PrioLow),
		Control2:    cemi.Control2GroupAddr | cemi.Control2Hops(6),
		Destination: uint16(ga),
		Data:        &cemi.AppData{Command: cmd, Data: data},
	}
	if len(data) <= 15 {
		ld.Control1 |= cemi.Control1StdFrame
	}
	return &cemi.LDataInd{LData: ld}
}

// telegram is a group telegram taken from a link message.
type telegram struct {
	cmd  cemi.APCI
	ga   cemi.GroupAddr
	src  cemi.IndividualAddr
	data []byte
}

// groupTelegramOf returns the group telegram in m: only L_Data indications
// to a group address with application data count.
func groupTelegramOf(m cemi.Message) (telegram, bool) {
	ind, ok := m.(*cemi.LDataInd)
	if !ok || !ind.Control2.IsGroupAddr() {
		return telegram{}, false
	}
	app, ok := ind.Data.(*cemi.AppData)
	if !ok || !app.Command.IsGroupCommand() {
		return telegram{}, false
	}
	return telegram{cmd: app.Command, ga: cemi.GroupAddr(ind.Destination), src: ind.Source, data: app.Data}, true
}
