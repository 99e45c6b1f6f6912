// Command writelat measures the write latency from an MQTT `/set` message
// to the device register: a gridbox gateway (in this process, embedded
// broker) writes the demo room's setpoint on the demo-room simulator, and a
// Modbus TCP relay in front of the simulator timestamps the simulator's
// answer to the write request (the register holds the value then). Each
// latency runs from just before the publish to that answer; the next write
// is sent once the `/set/result` of the previous one arrived.
//
//	go run ./bench/writelat [-n 1000] [-protect]
//
// -protect makes the setpoint `protect: true`: the bus reads the register
// before every write (one more Modbus round trip).
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/profile"
	"github.com/gridbox/gridbox/sim"
)

func main() {
	n := flag.Int("n", 1000, "writes")
	protect := flag.Bool("protect", false, "protect the setpoint (read before every write)")
	flag.Parse()
	if err := run(*n, *protect); err != nil {
		fmt.Fprintln(os.Stderr, "writelat:", err)
		os.Exit(1)
	}
}

func run(n int, protect bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := sim.Start(ctx, "demo-room", "127.0.0.1:0", 0, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	written := make(chan time.Time, 16)
	relay, err := startRelay(ctx, s.Addr(), written)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "writelat")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gw, err := startGateway(ctx, dir, relay, protect)
	if err != nil {
		return err
	}
	defer func() { cancel(); _ = gw.Wait() }()
	results := make(chan string, 16)
	c, err := connect(gw.MQTTAddr(), results)
	if err != nil {
		return err
	}
	defer c.Disconnect(100)

	lat := make([]time.Duration, 0, n)
	res := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		v := float64(16 + i%8) // within 15…30 and below the start value 24, each differs from the one before
		drain(written)
		t0 := time.Now()
		c.Publish("gridbox/room/setpoint/set", 0, false, fmt.Sprintf(`{"value": %g}`, v)).Wait()
		select {
		case t1 := <-written:
			lat = append(lat, t1.Sub(t0))
		case <-time.After(10 * time.Second):
			return fmt.Errorf("write %d (%g) never reached the simulator", i, v)
		}
		select {
		case r := <-results:
			res = append(res, time.Since(t0))
			if !strings.Contains(r, `"ok":true`) {
				return fmt.Errorf("write %d (%g): %s", i, v, r)
			}
		case <-time.After(10 * time.Second):
			return fmt.Errorf("write %d (%g): no result", i, v)
		}
	}
	fmt.Printf("%d writes, protect: %v\n", n, protect)
	report("MQTT /set → simulator register", lat)
	report("MQTT /set → /set/result (read back)", res)
	return nil
}

func report(what string, lat []time.Duration) {
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))].Round(time.Microsecond) }
	fmt.Printf("%-38s p50 %v  p90 %v  p99 %v  max %v\n", what, p(0.5), p(0.9), p(0.99), lat[len(lat)-1].Round(time.Microsecond))
}

func drain(c chan time.Time) {
	for len(c) > 0 {
		<-c
	}
}

func startGateway(ctx context.Context, dir, dev string, protect bool) (*gateway.Gateway, error) {
	over := ""
	if protect {
		over = ", overrides: {setpoint: {protect: true}}"
	}
	yml := fmt.Sprintf(`site: writelat
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: embedded, listen: "127.0.0.1:0"}
store: {path: %q}
devices:
  - {id: room, driver: modbus, url: "tcp://%s", profile: demo-room, interval: 1s, write_gap: 0s%s}
`, dir, dev, over)
	cfg, err := config.Parse([]byte(yml), "bench.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	gw, err := gateway.New(cfg, gateway.Options{Log: log, Profiles: profile.Builtin()})
	if err != nil {
		return nil, err
	}
	return gw, gw.Start(ctx)
}

func connect(broker string, results chan<- string) (paho.Client, error) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + broker).SetClientID("writelat"))
	if t := c.Connect(); !t.WaitTimeout(5*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("mqtt connect %s: %v", broker, t.Error())
	}
	t := c.Subscribe("gridbox/room/setpoint/set/result", 0, func(_ paho.Client, m paho.Message) { results <- string(m.Payload()) })
	if !t.WaitTimeout(5*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("mqtt subscribe: %v", t.Error())
	}
	return c, nil
}

// startRelay listens on a free port and relays Modbus TCP to the simulator
// at target; every answer to a write (function 6 or 16) is timed on written.
func startRelay(ctx context.Context, target string, written chan<- time.Time) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() { <-ctx.Done(); l.Close() }()
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go answers(out, in, written)
		}
	}()
	return l.Addr().String(), nil
}

// answers copies Modbus TCP frames from the simulator to the gateway and
// times the answers to writes.
func answers(from, to net.Conn, written chan<- time.Time) {
	defer to.Close()
	head := make([]byte, 7)
	for {
		if _, err := io.ReadFull(from, head); err != nil {
			return
		}
		body := make([]byte, int(binary.BigEndian.Uint16(head[4:6]))-1)
		if _, err := io.ReadFull(from, body); err != nil {
			return
		}
		if len(body) > 0 && (body[0] == 6 || body[0] == 16) {
			select {
			case written <- time.Now():
			default:
			}
		}
		if _, err := to.Write(append(head, body...)); err != nil {
			return
		}
	}
}
