package mqtt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/model"
)

// maxWritePayload is the largest /set payload parsed (as for REST bodies); a
// larger one is refused without being parsed, logged or echoed.
const maxWritePayload = 64 << 10

// setRequest is one write received on <prefix>/<device>/<name>/set, or a
// setpoint or schedule on …/setpoint or …/schedule (what).
type setRequest struct {
	device, name string
	what         string // "set", "setpoint" or "schedule"
	payload      []byte
	size         int // of the payload as received
}

// onMessage is the transport hook for /set messages. It never blocks: a
// retained message is ignored and counted, anything else is queued for the
// write workers or, when the queue is full, answered "busy".
func (p *Publisher) onMessage(m message) {
	device, name, what, ok := p.parseSetTopic(m.topic)
	if !ok {
		p.log.Debug("ignored message on unexpected topic", "topic", m.topic)
		return
	}
	if m.retained && what == "set" {
		p.m.writes.WithLabelValues(writeRetained).Inc()
		if !p.retainLog.Swap(true) {
			p.log.Warn("retained /set message ignored (logged once; clear it with an empty retained message)",
				"device", device, "datapoint", name, "topic", m.topic)
		}
		return
	}
	req := setRequest{device: device, name: name, what: what, size: len(m.payload)}
	if req.size <= maxWritePayload { // a larger payload is refused by apply unread: keep none of it
		req.payload = bytes.Clone(m.payload)
	}
	select {
	case <-p.done:
		return
	case p.writes <- req:
		return
	default:
	}
	p.m.writes.WithLabelValues(writeBusy).Inc()
	select {
	case p.busy <- req:
	default: // even the busy answers are backed up; counted above
	}
	p.log.Warn("write queue full; answered busy", "device", device, "datapoint", name)
}

// parseSetTopic splits <prefix>/<device>/<name>/<what>, what being set,
// setpoint or schedule; other topics ($meta/…, foreign ones) are not ours.
func (p *Publisher) parseSetTopic(topic string) (device, name, what string, ok bool) {
	rest, ok := strings.CutPrefix(topic, p.o.Prefix+"/")
	if !ok {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || strings.HasPrefix(parts[0], "$") {
		return "", "", "", false
	}
	switch parts[2] {
	case "set", "setpoint", "schedule":
		return parts[0], parts[1], parts[2], true
	}
	return "", "", "", false
}

// writeWorker applies queued writes until ctx is done.
func (p *Publisher) writeWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-p.writes:
			if req.what != "set" {
				p.answerControl(req, p.applyControl(req))
				continue
			}
			p.answer(req, p.apply(ctx, req))
		}
	}
}

// busyWorker answers writes that found the queue full.
func (p *Publisher) busyWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-p.busy:
			if req.what != "set" {
				p.answerControl(req, controlResult{Errors: []string{"busy"}})
				continue
			}
			p.answer(req, writeResult{Error: "busy"})
		}
	}
}

// apply decodes and performs one write through the bus, which validates it
// (kind, format, limits, rate limit) before any device sees it.
func (p *Publisher) apply(ctx context.Context, req setRequest) writeResult {
	log := p.log.With("device", model.Short(req.device), "datapoint", model.Short(req.name))
	if req.size > maxWritePayload {
		p.m.writes.WithLabelValues(writeRejected).Inc()
		p.bus.CountRejected()
		log.Warn("write rejected: payload too large", "bytes", req.size, "max", maxWritePayload)
		return writeResult{Error: fmt.Sprintf("payload too large: %d bytes (max %d)", req.size, maxWritePayload)}
	}
	v, err := model.ParseWrite(req.payload)
	if err != nil {
		p.m.writes.WithLabelValues(writeRejected).Inc()
		p.bus.CountRejected()
		log.Info("write rejected", "err", err, "payload", model.Short(req.payload))
		return writeResult{Error: err.Error()}
	}
	wctx, cancel := context.WithTimeout(bus.WithSource(ctx, bus.SourceMQTT), writeTimeout)
	got, err := p.bus.Write(wctx, req.device, req.name, v)
	cancel()
	if err != nil {
		result := p.classify(err)
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s: %w", writeTimeout, err)
		}
		p.m.writes.WithLabelValues(result).Inc()
		log.Warn("write "+result, "value", model.Short(v), "err", err)
		return writeResult{Error: err.Error()}
	}
	p.m.writes.WithLabelValues(writeOK).Inc()
	log.Info("write applied", "value", model.Short(v), "read_back", got)
	return writeResult{OK: true, Value: got, Time: model.NowMs()}
}

// classify tells a rejected write (never reached the device) from a failed one.
func (p *Publisher) classify(err error) string {
	if inv := (*bus.InvalidError)(nil); errors.As(err, &inv) {
		return writeRejected
	}
	return writeFailed
}

// answer publishes the result on <prefix>/<device>/<name>/set/result (QoS 1, not retained).
func (p *Publisher) answer(req setRequest, r writeResult) {
	topic := p.o.Prefix + "/" + req.device + "/" + req.name + "/set/result"
	if err := p.send(topic, encodeResult(r), 1, false); err != nil {
		p.log.Warn("write result not published", "device", req.device, "datapoint", req.name, "err", err)
	}
}
