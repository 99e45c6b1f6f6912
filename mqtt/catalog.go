package mqtt

import (
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// catalog follows a change of the bus's devices and datapoints: a new
// datapoint gets its retained $meta (its value follows when it comes), a new
// device its $state; a removed datapoint's retained value and $meta, and a
// removed device's $state, are cleared (an empty retained message), so a
// fresh subscriber no longer sees them. While disconnected, clearings wait
// for the next connection; additions are covered by its announcement.
func (p *Publisher) catalog(e bus.Event) {
	var topics []string
	switch e.Type {
	case bus.DatapointAdded:
		if p.isOnline() {
			p.sendMeta(e.Point)
		}
		return
	case bus.DeviceAdded:
		if p.isOnline() {
			p.sendDeviceState(e.Device)
		}
		return
	case bus.DatapointRemoved:
		topics = []string{p.o.Prefix + "/" + e.Point.Device + "/" + e.Point.Name, p.metaTopic(e.Point)}
	case bus.DeviceRemoved:
		topics = []string{p.o.Prefix + "/" + e.Device.Device + "/$state"}
	case bus.GatewayStatus:
		if p.isOnline() {
			if err := p.send(p.o.Prefix+"/$state", encodeGatewayState(true, p.o.Version, p.bus.GatewayStatus()), 1, true); err != nil {
				p.log.Warn("gateway state not published", "err", err)
			}
		}
		return
	case bus.Announcement:
		// Announcements are current-state messages: one missed while
		// disconnected is superseded by the next, so none is buffered.
		if p.isOnline() {
			if err := p.send(p.o.Prefix+"/"+e.Topic, e.Payload, p.o.QoS, e.Retain); err != nil {
				p.log.Debug("announcement not published", "topic", e.Topic, "err", err)
			}
		}
		return
	}
	p.clearing = append(p.clearing, topics...)
	if p.isOnline() {
		p.clearRetained()
	}
}

// clearRetained sends an empty retained message to every topic waiting to
// be cleared; what fails stays for the next connection.
func (p *Publisher) clearRetained() error {
	for len(p.clearing) > 0 {
		if err := p.send(p.clearing[0], nil, 1, true); err != nil {
			return err
		}
		p.clearing = p.clearing[1:]
	}
	return nil
}

func (p *Publisher) metaTopic(d model.Datapoint) string {
	return p.o.Prefix + "/$meta/" + d.Device + "/" + d.Name
}

// sendMeta publishes a datapoint's retained $meta.
func (p *Publisher) sendMeta(d model.Datapoint) error {
	payload, err := encodeMeta(d)
	if err != nil {
		p.log.Warn("metadata not publishable", "device", d.Device, "datapoint", d.Name, "err", err)
		return nil
	}
	return p.send(p.metaTopic(d), payload, 1, true)
}
