// Command fanout measures MQTT fan-out the way users meet it: one paho
// publisher and four paho subscribers over TCP, 200 000 messages of 64 bytes,
// QoS 0 and QoS 1, through gridbox's embedded broker and, side by side,
// through a private Mosquitto. Every delivery is counted; for the embedded
// broker the drop counter is printed next to the losses, which must match.
//
//	go run ./bench/fanout [-n 200000] [-subs 4]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	"github.com/gridbox/gridbox/broker"
	"github.com/gridbox/gridbox/internal/fanout"
)

func main() {
	n := flag.Int("n", 200_000, "messages")
	subs := flag.Int("subs", 4, "subscribers")
	flag.Parse()
	if err := run(*n, *subs); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

func run(n, subs int) error {
	fmt.Printf("1 publisher -> %d subscribers, %d messages of 64 B, paho clients over TCP\n\n", subs, n)
	fmt.Printf("%-34s %3s %10s %8s %8s %12s\n", "broker", "qos", "delivered", "lost", "dropped", "deliveries/s")
	for _, qos := range []byte{0, 1} {
		for _, c := range []struct {
			name string
			opts broker.Options
		}{
			{"embedded (gridbox defaults)", broker.Options{}},
			{"embedded, queue 8192 (mochi's)", broker.Options{MaxQueued: 8192}},
		} {
			if err := embedded(c.name, c.opts, qos, n, subs); err != nil {
				return err
			}
		}
		if err := mosquitto(qos, n, subs); err != nil {
			return err
		}
	}
	return nil
}

func embedded(name string, o broker.Options, qos byte, n, subs int) error {
	o.Listen = "127.0.0.1:0"
	b, err := broker.Start(o, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	res, err := fanout.Run(context.Background(), fanout.Options{Addr: b.Addr(), Messages: n, Subscribers: subs, QoS: qos})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	report(name, qos, res, fmt.Sprint(b.Dropped()))
	return nil
}

func mosquitto(qos byte, n, subs int) error {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	conf, err := os.CreateTemp("", "fanout-mosquitto-*.conf")
	if err != nil {
		return err
	}
	defer os.Remove(conf.Name())
	// max_queued_messages 0 = no limit on QoS 1/2 queues, like the embedded broker's deep queue.
	fmt.Fprintf(conf, "listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n", port)
	conf.Close()
	cmd := exec.Command(bin, "-c", conf.Name())
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("mosquitto: %w (install the mosquitto package)", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			return fmt.Errorf("mosquitto did not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, err := fanout.Run(context.Background(), fanout.Options{Addr: addr, Messages: n, Subscribers: subs, QoS: qos})
	if err != nil {
		return fmt.Errorf("mosquitto: %w", err)
	}
	report("mosquitto (anchor)", qos, res, "-")
	return nil
}

func report(name string, qos byte, r fanout.Result, dropped string) {
	total := 0
	for _, d := range r.Delivered {
		total += d
	}
	fmt.Printf("%-34s %3d %10d %8d %8s %12.0f\n", name, qos, total, r.Lost(), dropped, r.Rate())
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
