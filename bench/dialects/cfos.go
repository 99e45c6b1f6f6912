package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/dialect"
	"github.com/gridbox/gridbox/dialect/cfos"
	"github.com/gridbox/gridbox/mqtt"
	"github.com/gridbox/gridbox/sink"
)

// meterInput measures the cfos dialect's inbound path: n meter inputs on
// cfos_mqtt/set/M3 (the reference's example JSON, currents changing) from
// an MQTT client of the embedded broker until their values are on the
// bus; CPU per input, and the messages the dialect publishes per input
// (get/M3, get/dev_info, get/params when they changed, at most every 1 s).
func meterInput(n int) error {
	b := bus.New()
	logger := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mk := mqtt.Kind()
	mc := mk.NewConfig().(*mqtt.Config)
	mc.Listen = "127.0.0.1:0"
	ms, err := mk.New(ctx, mc, sink.Env{Name: "mqtt", Site: "bench", Bus: b, Log: logger})
	if err != nil {
		return err
	}
	defer ms.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	msub := b.Subscribe("mqtt", bus.Options{Size: 1 << 18, States: true, Events: true})
	wg.Go(func() { _ = ms.Run(ctx, msub) })
	dc := dialect.Config{Cfos: &cfos.Config{}}
	ds, err := dialect.Kind().New(ctx, &dc, sink.Env{Name: "dialects", Site: "bench", Bus: b, Log: logger, MQTT: ms.(sink.MQTT)})
	if err != nil {
		return err
	}
	wg.Go(func() { _ = ds.Run(ctx, nil) })
	var out atomic.Int64
	client, err := ms.(sink.MQTT).DialMQTT("bench", nil, func(string, []byte, bool) { out.Add(1) })
	if err != nil {
		return err
	}
	defer client.Close(context.Background())
	if err := client.Subscribe("cfos_mqtt/get/#"); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	const perInput = 9 // values of one input: model, import_wh, export_wh, 3 voltages, 3 currents
	payload := func(i int) []byte {
		return fmt.Appendf(nil, `{"model": "TestModell", "import_wh": %d, "export_wh": 23456, "voltage": [231, 232, 233], "current": [%d, 10002, 10003]}`, 12345+i, 10000+i%1000)
	}
	_ = client.Publish(ctx, "cfos_mqtt/set/M3", payload(0), 0, false)
	for b.ValuesIn() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	settle(&out)
	startVals, startOut, startCPU, t0 := b.ValuesIn(), out.Load(), cpu(), time.Now()
	for i := range n {
		if err := client.Publish(ctx, "cfos_mqtt/set/M3", payload(i+1), 0, false); err != nil {
			return err
		}
		for b.ValuesIn()-startVals < uint64(i+1-200)*perInput && i > 200 {
			time.Sleep(time.Millisecond) // at most 200 inputs in flight
		}
	}
	for b.ValuesIn()-startVals < uint64(n)*perInput {
		time.Sleep(10 * time.Millisecond)
	}
	used, took := cpu()-startCPU, time.Since(t0)
	settle(&out)
	fmt.Printf("cfos meter input   %7.2f µs CPU per set/M3 message (%d in %v: %.0f/s), %.4f get/... messages out per input\n",
		float64(used.Microseconds())/float64(n), n, took.Round(time.Millisecond), float64(n)/took.Seconds(), float64(out.Load()-startOut)/float64(n))
	return nil
}
