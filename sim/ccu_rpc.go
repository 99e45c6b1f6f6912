package sim

import (
	"context"
	"fmt"

	"github.com/gridbox/gridbox/driver/homematic/xmlrpc"
)

// handle answers the XML-RPC calls of a client.
func (c *CCU) handle(_ context.Context, method string, p []any) (any, error) {
	str := func(i int) string {
		if i < len(p) {
			s, _ := p[i].(string)
			return s
		}
		return ""
	}
	switch method {
	case "init":
		return c.init(str(0), str(1))
	case "ping":
		return true, nil
	case "listDevices":
		return c.list(), nil
	case "getParamsetDescription":
		if d, ok := c.device(str(0)); ok && str(1) == "VALUES" && d.params != nil {
			out := map[string]any{}
			for k, v := range d.params {
				out[k] = v
			}
			return out, nil
		}
		return nil, &xmlrpc.Fault{Code: -3, String: "Unknown paramset"}
	case "getParamset":
		c.mu.Lock()
		defer c.mu.Unlock()
		out := map[string]any{}
		for k, v := range c.values[str(0)] {
			out[k] = v
		}
		return out, nil
	case "getValue":
		c.mu.Lock()
		defer c.mu.Unlock()
		if v, ok := c.values[str(0)][str(1)]; ok {
			return v, nil
		}
		return nil, &xmlrpc.Fault{Code: -5, String: "Unknown parameter"}
	case "setValue":
		if len(p) != 3 {
			return nil, &xmlrpc.Fault{Code: xmlrpc.FaultParams, String: "setValue(address, key, value)"}
		}
		return c.set(str(0), str(1), p[2])
	}
	return nil, &xmlrpc.Fault{Code: xmlrpc.FaultMethod, String: "unknown method " + method}
}

func (c *CCU) device(addr string) (ccuDevice, bool) {
	for _, d := range ccuDevices() {
		if d.address == addr {
			return d, true
		}
	}
	return ccuDevice{}, false
}

func (c *CCU) list() []any {
	var out []any
	for _, d := range ccuDevices() {
		sets := []any{"MASTER"}
		parent := ""
		if d.params != nil {
			sets = append(sets, "VALUES")
			parent = d.address[:len("NEQ0000000")]
		}
		out = append(out, map[string]any{"ADDRESS": d.address, "TYPE": d.typ, "PARAMSETS": sets, "PARENT": parent, "VERSION": 1})
	}
	return out
}

// init registers (or, with an empty interface id, removes) a callback; the
// first values follow like from a real CCU.
func (c *CCU) init(url, iface string) (any, error) {
	if url == "" {
		return nil, &xmlrpc.Fault{Code: xmlrpc.FaultParams, String: "init(url, interface_id)"}
	}
	c.mu.Lock()
	for k, v := range c.callbacks {
		if v == url {
			delete(c.callbacks, k)
		}
	}
	if iface != "" {
		c.callbacks[iface] = url
	}
	c.mu.Unlock()
	c.log.Info("ccu sim: init", "callback", url, "interface", iface)
	return "", nil
}

// set checks a write against the description (type, MIN/MAX) and pushes it.
func (c *CCU) set(addr, key string, v any) (any, error) {
	d, ok := c.device(addr)
	desc, known := d.params[key]
	if !ok || !known || desc["OPERATIONS"].(int)&2 == 0 {
		return nil, &xmlrpc.Fault{Code: -5, String: fmt.Sprintf("%s %s is not writable", addr, key)}
	}
	switch desc["TYPE"] {
	case "FLOAT":
		f, isF := v.(float64)
		if !isF || f < desc["MIN"].(float64) || f > desc["MAX"].(float64) {
			return nil, &xmlrpc.Fault{Code: -4, String: fmt.Sprintf("%s %s: %v is not a double in range", addr, key, v)}
		}
	case "INTEGER", "ENUM":
		if _, isI := v.(int); !isI {
			return nil, &xmlrpc.Fault{Code: -4, String: fmt.Sprintf("%s %s: %v is not an integer", addr, key, v)}
		}
	}
	c.mu.Lock()
	c.values[addr][key] = v
	c.mu.Unlock()
	select { // like the CCU: the change comes back as an event
	case c.pending <- [3]any{addr, key, v}:
	default: // the run loop is behind: the next step reports the value
	}
	return "", nil
}
