package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// sim is one simulated charge point's connection.
type sim struct {
	ws   *websocket.Conn
	c    *counters
	mu   sync.Mutex
	seq  int
	wait map[string]chan []any
}

// chargePoint connects as id, boots, starts a transaction on connector 1
// and sends MeterValues every interval (first one at a random offset) until
// ctx ends; it answers SetChargingProfile and GetConfiguration.
func chargePoint(ctx context.Context, addr, id string, interval time.Duration, c *counters) {
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	ws, _, err := websocket.Dial(dctx, "ws://"+addr+"/ocpp/"+id, &websocket.DialOptions{Subprotocols: []string{"ocpp1.6"}})
	cancel()
	if err != nil {
		c.failed.Add(1)
		fmt.Println("dial:", err)
		return
	}
	defer ws.CloseNow()
	s := &sim{ws: ws, c: c, wait: map[string]chan []any{}}
	go s.read(ctx)
	now := time.Now().UTC().Format(time.RFC3339)
	steps := []struct {
		action  string
		payload any
	}{
		{"BootNotification", map[string]any{"chargePointVendor": "Bench", "chargePointModel": "Sim"}},
		{"StatusNotification", map[string]any{"connectorId": 1, "errorCode": "NoError", "status": "Charging"}},
		{"StartTransaction", map[string]any{"connectorId": 1, "idTag": "BENCH", "meterStart": 0, "timestamp": now}},
	}
	for _, st := range steps {
		if _, err := s.call(ctx, st.action, st.payload); err != nil {
			c.failed.Add(1)
			return
		}
	}
	c.connected.Add(1)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(interval))))
	defer t.Stop()
	energy := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(interval)
		energy += 11000 * interval.Hours()
		c.meterSent.Add(1)
		if _, err := s.call(ctx, "MeterValues", meterValues(energy)); err == nil {
			c.meterAnswered.Add(1)
		}
	}
}

func meterValues(energy float64) map[string]any {
	sv := []any{
		map[string]any{"value": "11.0", "measurand": "Power.Active.Import", "unit": "kW", "context": "Sample.Periodic"},
		map[string]any{"value": strconv.FormatFloat(energy, 'f', 1, 64), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
	}
	for _, l := range []string{"L1", "L2", "L3"} {
		sv = append(sv, map[string]any{"value": "16.0", "measurand": "Current.Import", "phase": l, "unit": "A"},
			map[string]any{"value": "230.0", "measurand": "Voltage", "phase": l + "-N", "unit": "V"})
	}
	return map[string]any{"connectorId": 1, "meterValue": []any{map[string]any{"timestamp": time.Now().UTC().Format(time.RFC3339), "sampledValue": sv}}}
}

// call sends a Call and waits for its answer.
func (s *sim) call(ctx context.Context, action string, payload any) ([]any, error) {
	s.mu.Lock()
	s.seq++
	id := strconv.Itoa(s.seq)
	ch := make(chan []any, 1)
	s.wait[id] = ch
	s.mu.Unlock()
	b, _ := json.Marshal([]any{2, id, action, payload})
	if err := s.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r[0] != 3.0 {
			return nil, fmt.Errorf("%s: %v", action, r)
		}
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("%s: no answer", action)
	}
}

// read dispatches answers and answers the central system's calls.
func (s *sim) read(ctx context.Context) {
	for {
		_, b, err := s.ws.Read(ctx)
		if err != nil {
			return
		}
		var m []any
		if json.Unmarshal(b, &m) != nil || len(m) < 3 {
			continue
		}
		id, _ := m[1].(string)
		if m[0] == 2.0 {
			s.answer(ctx, id, m[2])
			continue
		}
		s.mu.Lock()
		ch := s.wait[id]
		delete(s.wait, id)
		s.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

func (s *sim) answer(ctx context.Context, id string, action any) {
	var conf any = map[string]any{"status": "Accepted"}
	switch action {
	case "GetConfiguration":
		conf = map[string]any{"configurationKey": []any{map[string]any{"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": true, "value": "Current"}}}
	case "SetChargingProfile":
		s.c.profiles.Add(1)
	}
	b, _ := json.Marshal([]any{3, id, conf})
	s.ws.Write(ctx, websocket.MessageText, b)
}
