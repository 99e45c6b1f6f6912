package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gridbox/gridbox/driver/homematic/xmlrpc"
)

// CCU is a simulated Homematic CCU interface (XML-RPC): a wall thermostat
// HM-TC-IT-WM-W-EU, a window handle HM-Sec-RHS and a radiator actuator
// HM-CC-RT-DN. It answers listDevices, getParamsetDescription,
// getParamset, getValue, setValue and init, and pushes every change to the
// registered callbacks as system.multicall (docs/simulators.md "homematic-ccu").
type CCU struct {
	srv     *http.Server
	ln      net.Listener
	log     *slog.Logger
	cancel  context.CancelFunc
	done    chan struct{}
	pending chan [3]any // changes by setValue, pushed by run

	mu        sync.Mutex
	values    map[string]map[string]any // channel → key → value
	callbacks map[string]string         // interface id → URL
	elapsed   time.Duration
}

// ccuDevice is one device or channel of the simulated CCU.
type ccuDevice struct {
	address, typ string
	params       map[string]map[string]any // VALUES description by key
}

func ccuParam(typ string, lo, hi any, unit string, ops int) map[string]any {
	return map[string]any{"TYPE": typ, "MIN": lo, "MAX": hi, "UNIT": unit, "OPERATIONS": ops, "FLAGS": 1, "DEFAULT": lo}
}

// ccuDevices is the simulated installation (a function, not a variable: no
// package state).
func ccuDevices() []ccuDevice {
	temp := func(ops int) map[string]any { return ccuParam("FLOAT", -10.0, 50.0, "°C", ops) }
	setT := ccuParam("FLOAT", 4.5, 30.5, "°C", 7)
	handle := ccuParam("ENUM", 0, 2, "", 5)
	handle["VALUE_LIST"] = []any{"CLOSED", "TILTED", "OPEN"}
	return []ccuDevice{
		{"NEQ0123456", "HM-TC-IT-WM-W-EU", nil},
		{"NEQ0123456:1", "WEATHER_TRANSMIT", map[string]map[string]any{"TEMPERATURE": temp(5), "HUMIDITY": ccuParam("INTEGER", 0, 99, "%", 5)}},
		{"NEQ0123456:2", "THERMALCONTROL_TRANSMIT", map[string]map[string]any{"ACTUAL_TEMPERATURE": temp(5), "SET_TEMPERATURE": setT}},
		{"NEQ0000002", "HM-Sec-RHS", nil},
		{"NEQ0000002:1", "ROTARY_HANDLE_SENSOR", map[string]map[string]any{"STATE": handle}},
		{"NEQ0000003", "HM-CC-RT-DN", nil},
		{"NEQ0000003:4", "CLIMATECONTROL_RT_TRANSCEIVER", map[string]map[string]any{"ACTUAL_TEMPERATURE": temp(5), "SET_TEMPERATURE": setT,
			"VALVE_STATE": ccuParam("INTEGER", 0, 99, "%", 5)}},
	}
}

// StartCCU runs the CCU simulator on listen until ctx is done or Close.
func StartCCU(ctx context.Context, listen string, log *slog.Logger) (*CCU, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("simulator homematic-ccu on %s: %w", listen, err)
	}
	c := &CCU{ln: ln, log: log, done: make(chan struct{}), pending: make(chan [3]any, 64), callbacks: map[string]string{}, values: map[string]map[string]any{
		"NEQ0123456:1": {"TEMPERATURE": 20.5, "HUMIDITY": 45},
		"NEQ0123456:2": {"ACTUAL_TEMPERATURE": 20.5, "SET_TEMPERATURE": 21.0},
		"NEQ0000002:1": {"STATE": 0},
		"NEQ0000003:4": {"ACTUAL_TEMPERATURE": 19.0, "SET_TEMPERATURE": 21.0, "VALVE_STATE": 60},
	}}
	c.srv = &http.Server{Handler: &xmlrpc.Server{Handle: c.handle}, ReadHeaderTimeout: 10 * time.Second}
	ctx, c.cancel = context.WithCancel(ctx)
	go c.run(ctx)
	log.Info("simulator listening", "profile", "homematic-ccu", "addr", c.Addr())
	return c, nil
}

// Addr returns the host:port of the XML-RPC server.
func (c *CCU) Addr() string { return c.ln.Addr().String() }

// URL returns the CCU interface's URL for the driver's url key.
func (c *CCU) URL() string { return "http://" + c.Addr() }

// Close stops the simulator; it is safe to call more than once.
func (c *CCU) Close() error {
	c.cancel()
	<-c.done
	return nil
}

func (c *CCU) run(ctx context.Context) {
	defer close(c.done)
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := c.srv.Serve(c.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("ccu sim", "err", err)
		}
	}()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = c.srv.Close()
			<-served
			return
		case <-t.C:
			c.push(ctx, c.step(tick))
		case e := <-c.pending:
			c.push(ctx, [][3]any{e})
		}
	}
}

// step lets the temperatures approach their setpoints and returns the
// events of the changes.
func (c *CCU) step(dt time.Duration) [][3]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.elapsed += dt
	var ev [][3]any
	for _, ch := range []string{"NEQ0123456:2", "NEQ0000003:4"} {
		v := c.values[ch]
		cur, set := v["ACTUAL_TEMPERATURE"].(float64), v["SET_TEMPERATURE"].(float64)
		next := math.Round((cur+(set-cur)*0.05)*10) / 10
		v["ACTUAL_TEMPERATURE"] = next
		ev = append(ev, [3]any{ch, "ACTUAL_TEMPERATURE", next})
	}
	rt := c.values["NEQ0000003:4"]
	valve := int(math.Max(0, math.Min(99, (rt["SET_TEMPERATURE"].(float64)-rt["ACTUAL_TEMPERATURE"].(float64))*30)))
	rt["VALVE_STATE"] = valve
	c.values["NEQ0123456:1"]["TEMPERATURE"] = c.values["NEQ0123456:2"]["ACTUAL_TEMPERATURE"]
	ev = append(ev, [3]any{"NEQ0000003:4", "VALVE_STATE", valve}, [3]any{"NEQ0123456:1", "TEMPERATURE", c.values["NEQ0123456:1"]["TEMPERATURE"]})
	if int(c.elapsed/tick)%30 == 0 { // the window handle turns every 30 s
		st := (c.values["NEQ0000002:1"]["STATE"].(int) + 1) % 3
		c.values["NEQ0000002:1"]["STATE"] = st
		ev = append(ev, [3]any{"NEQ0000002:1", "STATE", st})
	}
	return ev
}

// push sends events to every registered callback as one system.multicall.
func (c *CCU) push(ctx context.Context, events [][3]any) {
	c.mu.Lock()
	targets := maps.Clone(c.callbacks)
	c.mu.Unlock()
	for iface, url := range targets {
		calls := make([]any, len(events))
		for i, e := range events {
			calls[i] = map[string]any{"methodName": "event", "params": []any{iface, e[0], e[1], e[2]}}
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := (&xmlrpc.Client{URL: url}).Call(cctx, "system.multicall", calls)
		cancel()
		if err != nil {
			c.log.Debug("ccu sim: event", "callback", url, "err", err)
		}
	}
}
