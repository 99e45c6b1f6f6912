package homematic

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridbox/gridbox/driver/homematic/xmlrpc"
	"github.com/gridbox/gridbox/model"
)

// handle answers the CCU's calls on the callback server.
func (d *Device) handle(_ context.Context, method string, params []any) (any, error) {
	switch method {
	case "event":
		return d.event(params)
	case "listDevices":
		return []any{}, nil // we keep no device list of our own: the CCU sends all
	case "newDevices":
		select {
		case d.rescan <- struct{}{}:
		default:
		}
		return "", nil
	case "deleteDevices", "updateDevice", "replaceDevice", "readdedDevice", "setReadyConfig":
		return "", nil
	case "system.listMethods":
		return []any{"event", "listDevices", "newDevices", "deleteDevices", "updateDevice",
			"replaceDevice", "readdedDevice", "system.listMethods", "system.multicall"}, nil
	}
	return nil, &xmlrpc.Fault{Code: xmlrpc.FaultMethod, String: "unknown method " + method}
}

// event takes event(interface_id, address, value_key, value).
func (d *Device) event(params []any) (any, error) {
	var addr, key string
	ok := len(params) == 4
	if ok {
		addr, ok = params[1].(string)
	}
	if ok {
		key, ok = params[2].(string)
	}
	if !ok {
		err := fmt.Errorf("event: want (interface_id, address, key, value), got %.80v", params)
		d.malformed("type", err)
		return nil, &xmlrpc.Fault{Code: xmlrpc.FaultParams, String: err.Error()}
	}
	d.mu.Lock()
	d.lastEvent = time.Now()
	d.mu.Unlock()
	d.value(addr, key, params[3])
	return "", nil
}

// value publishes one value of a known parameter; others are ignored
// (CENTRAL PONG, parameters of channels without a VALUES description).
func (d *Device) value(addr, key string, raw any) {
	d.mu.Lock()
	p, known := d.byKey[addr+"/"+key]
	out := d.sink
	d.mu.Unlock()
	if !known || out == nil {
		return
	}
	v, err := p.fromCCU(raw)
	if err != nil {
		d.malformed("type", err)
		return
	}
	now := model.NowMs()
	out.Publish(model.Value{Device: d.cfg.ID, Name: p.dp.Name, Value: v, Time: now, Quality: model.Good})
	d.mu.Lock()
	d.state.LastSeen = now
	d.mu.Unlock()
}

// malformedCall counts a callback request that was not XML-RPC.
func (d *Device) malformedCall(err error) {
	kind := "xml"
	if errors.Is(err, xmlrpc.ErrTooLarge) {
		kind = "oversized"
	}
	d.malformed(kind, fmt.Errorf("callback: %w", err))
}

// malformed counts a malformed message of the CCU and shows it in $state
// without changing the connection state.
func (d *Device) malformed(kind string, err error) {
	d.bad.Add(kind)
	d.log.Warn("homematic: malformed", "kind", kind, "err", err)
	d.mu.Lock()
	d.state.Error = fmt.Sprintf("malformed (%s, %d so far): %v", kind, d.bad.Total(), err)
	st, out := d.state, d.sink
	d.mu.Unlock()
	if out != nil {
		out.SetState(st, 0, 1)
	}
}
