// Command dialects measures what the MQTT dialects add to the demo's
// load: extra CPU time and extra broker messages per bus value, for Home
// Assistant discovery, for Victron N/R/W (kept alive), for the cFos
// charging manager API, for BEMCom (every device a connector, every
// sensor mapped by a datapoint_map), for the edge datalogger's payloads
// and the home box's data/devices messages, against the native MQTT sink alone;
// and what a cFos meter input (set/<id>) costs. Everything runs in this process on the embedded
// broker; a subscriber on # counts every message the broker routes.
//
//	go run ./bench/dialects [-n 200000]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/dialect"
	"github.com/gridbox/gridbox/dialect/bemcom"
	"github.com/gridbox/gridbox/dialect/cfos"
	"github.com/gridbox/gridbox/dialect/datalogger"
	"github.com/gridbox/gridbox/dialect/homeassistant"
	"github.com/gridbox/gridbox/dialect/homebox"
	"github.com/gridbox/gridbox/dialect/victron"
	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/model"
	"github.com/gridbox/gridbox/mqtt"
	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/sink"
)

func main() {
	n := flag.Int("n", 200000, "values published per run")
	flag.Parse()
	type run struct {
		name string
		cfg  dialect.Config
	}
	runs := []run{
		{"native mqtt only", dialect.Config{}},
		{"+ homeassistant", dialect.Config{HomeAssistant: &homeassistant.Config{}}},
		{"+ victron (alive)", dialect.Config{Victron: &victron.Config{PortalID: "bench"}}},
		{"+ both", dialect.Config{HomeAssistant: &homeassistant.Config{}, Victron: &victron.Config{PortalID: "bench"}}},
		{"+ cfos", dialect.Config{Cfos: &cfos.Config{}}},
		{"+ bemcom (mapped)", dialect.Config{BEMCom: &bemcom.Config{}}},
		{"+ bemcom raw_msg", dialect.Config{BEMCom: &bemcom.Config{RawMessageToDB: true}}},
		{"+ datalogger (60s)", dialect.Config{Datalogger: &datalogger.Config{}}},
		{"+ homebox (roles)", dialect.Config{HomeBox: &homebox.Config{}}},
	}
	devs, err := demo()
	if err != nil {
		log.Fatal(err)
	}
	numeric, mapped, streams := 0, 0, 0
	for _, dps := range devs {
		for _, dp := range dps {
			if dp.Format.Numeric() {
				numeric++
				if map[string]bool{"grid_power": true, "pv_power": true, "battery_soc": true, "battery_power": true, "ev_power": true}[dp.Role] {
					mapped++
				}
				if dp.Role == "grid_power" || dp.Role == "pv_power" {
					streams++
				}
			}
		}
	}
	fmt.Printf("demo catalog: %d numeric datapoints, %d with a Victron path by role; values cycle through all of them\n", numeric, mapped)
	var base result
	for i, r := range runs {
		res, err := measure(r.cfg, *n)
		if err != nil {
			log.Fatalf("%s: %v", r.name, err)
		}
		if i == 0 {
			base = res
		}
		fmt.Printf("%-20s %7.2f µs CPU/value  %5.2f msgs/value  extra: %+6.2f µs CPU/value %+5.2f msgs/value\n",
			r.name, res.cpuPerValue, res.msgsPerValue, res.cpuPerValue-base.cpuPerValue, res.msgsPerValue-base.msgsPerValue)
		if r.cfg.Victron != nil && r.cfg.HomeAssistant == nil {
			fmt.Printf("%-20s %5.2f extra msgs per value of a datapoint with a Victron path (its N plus the system summary)\n", "",
				(res.msgsPerValue-base.msgsPerValue)*float64(numeric)/float64(mapped))
		}
		if r.cfg.HomeBox != nil && streams > 0 {
			fmt.Printf("%-20s %5.2f extra msgs per value of a datapoint with a home box stream (grid_power, pv_power)\n", "",
				(res.msgsPerValue-base.msgsPerValue)*float64(numeric)/float64(streams))
		}
	}
	if err := meterInput(*n / 10); err != nil {
		log.Fatalf("cfos meter input: %v", err)
	}
}

type result struct{ cpuPerValue, msgsPerValue float64 }

// demo is the demo's catalog: the room controller, an SMA inverter and a
// Janitza meter, as their built-in profiles declare them; roles are set
// so Victron has paths for the inverter's and the meter's power.
func demo() (map[string][]model.Datapoint, error) {
	out := map[string][]model.Datapoint{}
	for dev, name := range map[string]string{"room": "demo-room", "pv": "sma-stp", "meter": "janitza-umg96rm"} {
		data, src, err := profile.Builtin().Load(name)
		if err != nil {
			return nil, err
		}
		p, err := modbus.ParseProfile(data, src)
		if err != nil {
			return nil, err
		}
		dps := p.Datapoints()
		for i := range dps {
			dps[i].Device = dev
		}
		out[dev] = dps
	}
	return out, nil
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func measure(dc dialect.Config, n int) (result, error) {
	b := bus.New()
	devs, err := demo()
	if err != nil {
		return result{}, err
	}
	var points []model.Datapoint
	for dev, dps := range devs {
		if err := b.AddDevice(model.DeviceState{Device: dev, Driver: "modbus", Online: true}, dps, nil, 0); err != nil {
			return result{}, err
		}
		for _, dp := range dps {
			if dp.Format.Numeric() {
				points = append(points, dp)
			}
		}
	}
	logger := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mk := mqtt.Kind()
	mc := mk.NewConfig().(*mqtt.Config)
	mc.Listen = "127.0.0.1:0"
	ms, err := mk.New(ctx, mc, sink.Env{Name: "mqtt", Site: "bench", Bus: b, Log: logger})
	if err != nil {
		return result{}, err
	}
	defer ms.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	msub := b.Subscribe("mqtt", bus.Options{Size: 1 << 18, States: true, Events: true})
	wg.Go(func() { _ = ms.Run(ctx, msub) })
	ds, err := dialect.Kind().New(ctx, &dc, sink.Env{Name: "dialects", Site: "bench", Bus: b, Log: logger, MQTT: ms.(sink.MQTT)})
	if err != nil {
		return result{}, err
	}
	wg.Go(func() { _ = ds.Run(ctx, nil) })

	var msgs atomic.Int64
	counter, err := ms.(sink.MQTT).DialMQTT("bench", nil, func(string, []byte, bool) { msgs.Add(1) })
	if err != nil {
		return result{}, err
	}
	defer counter.Close(context.Background())
	if err := counter.Subscribe("#"); err != nil {
		return result{}, err
	}
	time.Sleep(500 * time.Millisecond) // dialects connect and announce
	if dc.Victron != nil {
		_ = counter.Publish(ctx, "R/bench/keepalive", nil, 0, false)
	}
	if dc.BEMCom != nil {
		if err := bemcomMaps(ctx, counter, devs); err != nil {
			return result{}, err
		}
	}
	settle(&msgs)
	startMsgs, startCPU := msgs.Load(), cpu()
	now := model.NowMs()
	for i := range n {
		dp := points[i%len(points)]
		b.Publish(model.Value{Device: dp.Device, Name: dp.Name, Value: float64(i), Time: now + int64(i), Quality: model.Good})
		if i%1000 == 999 {
			for pending(b) > 1<<12 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for msgs.Load()-startMsgs < int64(n) {
		time.Sleep(10 * time.Millisecond)
	}
	settle(&msgs)
	used := cpu() - startCPU
	for _, s := range b.Subscriptions() {
		if s.Dropped() > 0 {
			return result{}, fmt.Errorf("sink %s dropped %d values: the figure would be too low", s.Name, s.Dropped())
		}
	}
	return result{
		cpuPerValue:  float64(used.Microseconds()) / float64(n),
		msgsPerValue: float64(msgs.Load()-startMsgs) / float64(n),
	}, nil
}

// bemcomMaps sends every device's connector a datapoint map of all its
// sensors, as BEMCom's API does when they are activated.
func bemcomMaps(ctx context.Context, c sink.MQTTConn, devs map[string][]model.Datapoint) error {
	for dev, dps := range devs {
		m := map[string]map[string]string{"sensor": {}, "actuator": {}}
		for i, dp := range dps {
			if dp.Kind == model.Sensor {
				m["sensor"][dp.Name] = fmt.Sprintf("%s/messages/%d/value", dev, i+1)
			}
		}
		payload, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := c.Publish(ctx, dev+"/datapoint_map", payload, 1, true); err != nil {
			return err
		}
	}
	return nil
}

// pending is the longest queue of undelivered values among the sinks.
func pending(b *bus.Bus) int {
	m := 0
	for _, s := range b.Subscriptions() {
		m = max(m, len(s.Values))
	}
	return m
}

// settle waits until the message count has not moved for 300 ms.
func settle(c *atomic.Int64) {
	last := c.Load()
	for {
		time.Sleep(300 * time.Millisecond)
		now := c.Load()
		if now == last {
			return
		}
		last = now
	}
}

func init() { log.SetOutput(os.Stderr) }
