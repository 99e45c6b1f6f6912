// Command mqttsrc measures the remote MQTT source: values per second from
// Mosquitto into gridbox's bus. A paho client publishes n plain numeric
// messages over 200 topics that one wildcard datapoint matches (so the
// first message of each topic also adds a datapoint to the catalog); the
// source, subscribed to the same broker, decodes them onto a bus. The
// publisher keeps at most 500 messages in flight (Mosquitto drops what
// queues beyond max_queued_messages for a slower subscriber), so the figure
// is the sustained rate without loss. The clock runs from the first publish
// to the last value on the bus.
//
//	go run ./bench/mqttsrc [-broker 127.0.0.1:1883] [-n 200000] [-qos 1]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/mqttsrc"
	"github.com/gridbox/gridbox/model"
)

// window is how many messages may be on their way at once.
const window = 500

func main() {
	addr := flag.String("broker", "127.0.0.1:1883", "Mosquitto host:port")
	n := flag.Int("n", 200_000, "messages")
	qos := flag.Int("qos", 1, "QoS of publisher and subscription (0 or 1)")
	flag.Parse()
	if err := run(*addr, *n, byte(*qos)); err != nil {
		fmt.Fprintln(os.Stderr, "mqttsrc bench:", err)
		os.Exit(1)
	}
}

func run(addr string, n int, qos byte) error {
	root := fmt.Sprintf("gbbench/%d", time.Now().UnixNano())
	b := bus.New()
	cfg := mqttsrc.NewConfig()
	cfg.ID, cfg.Driver, cfg.Broker, cfg.QoS = "remote", "mqtt", "mqtt://"+addr, int(qos)
	cfg.Datapoints = []mqttsrc.Point{{Topic: root + "/+/power", Meta: model.Meta{Unit: "W"}}}
	if errs := cfg.Validate(); len(errs) > 0 {
		return config.Errors(errs)
	}
	dev, err := mqttsrc.NewDevice(cfg, driver.Env{Log: slog.New(slog.DiscardHandler), Catalog: b})
	if err != nil {
		return err
	}
	if err := b.AddDevice(model.DeviceState{Device: "remote"}, dev.Datapoints(), dev.(bus.Writer), 0); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dev.Run(ctx, b) }()
	defer func() { cancel(); <-done }()
	if err := waitOnline(b); err != nil {
		return err
	}

	pub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(root + "-pub"))
	if t := pub.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return fmt.Errorf("publisher connect: %v", t.Error())
	}
	defer pub.Disconnect(250)
	start := time.Now()
	for i := range n {
		// At most window messages between publisher and bus: Mosquitto drops
		// what queues beyond max_queued_messages (1000) for a slow subscriber.
		for i-int(b.ValuesIn()) > window {
			time.Sleep(50 * time.Microsecond)
		}
		pub.Publish(root+"/s"+strconv.Itoa(i%200)+"/power", qos, false, strconv.Itoa(i))
	}
	deadline := time.Now().Add(2 * time.Minute)
	last, lastChange := b.ValuesIn(), time.Now()
	for b.ValuesIn() < uint64(n) && time.Now().Before(deadline) && time.Since(lastChange) < 10*time.Second {
		time.Sleep(5 * time.Millisecond)
		if v := b.ValuesIn(); v != last {
			last, lastChange = v, time.Now()
		}
	}
	got := b.ValuesIn()
	elapsed := time.Since(start)
	if got < uint64(n) {
		elapsed = lastChange.Sub(start)
	}
	fmt.Printf("remote MQTT source, Mosquitto %s, QoS %d: %d of %d values on the bus in %s: %.0f values/s (%d datapoints)\n",
		addr, qos, got, n, elapsed.Round(time.Millisecond), float64(got)/elapsed.Seconds(), len(b.Datapoints()))
	return nil
}

func waitOnline(b *bus.Bus) error {
	for range 1000 {
		if st, ok := b.Device("remote"); ok && st.Online {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("the source did not connect")
}
