// Command knx measures the latency from a KNX group telegram to the MQTT
// message gridbox publishes for it: a private knxd is the KNX/IP gateway,
// a gridbox gateway (in this process) tunnels to it and publishes to
// Mosquitto on 127.0.0.1:1883, and a second KNX/IP client (knx-go's
// tunnel) writes n distinct 9.001 values one after the other. Each latency
// runs from just before the telegram is sent to the arrival of its MQTT
// message at a subscriber.
//
//	go run ./bench/knx [-n 1000] [-broker 127.0.0.1:1883]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridbox/gridbox/config"
	gbknx "github.com/gridbox/gridbox/driver/knx"
	"github.com/gridbox/gridbox/gateway"
	"github.com/gridbox/gridbox/profile"
	"github.com/vapourismo/knx-go/knx"
	"github.com/vapourismo/knx-go/knx/cemi"
)

func main() {
	n := flag.Int("n", 1000, "telegrams")
	broker := flag.String("broker", "127.0.0.1:1883", "MQTT broker (Mosquitto)")
	flag.Parse()
	if err := run(*n, *broker); err != nil {
		fmt.Fprintln(os.Stderr, "knx bench:", err)
		os.Exit(1)
	}
}

func run(n int, broker string) error {
	dir, err := os.MkdirTemp("", "knxbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	port, err := freeUDPPort()
	if err != nil {
		return err
	}
	stop, err := startKnxd(dir, port)
	if err != nil {
		return err
	}
	defer stop()
	gwAddr := fmt.Sprintf("127.0.0.1:%d", port)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gw, err := startGateway(ctx, dir, gwAddr, broker)
	if err != nil {
		return err
	}
	defer func() { cancel(); _ = gw.Wait() }()

	got := make(chan float64, 16)
	sub, err := subscribe(broker, got)
	if err != nil {
		return err
	}
	defer sub.Disconnect(100)

	sender, err := knx.NewGroupTunnel(gwAddr, knx.DefaultTunnelConfig)
	if err != nil {
		return fmt.Errorf("sender tunnel: %w", err)
	}
	defer sender.Close()
	if err := waitOnline(sender, got); err != nil {
		return err
	}
	lat, err := measure(sender, got, n)
	if err != nil {
		return err
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	fmt.Printf("KNX telegram -> gridbox -> MQTT (Mosquitto %s), %d telegrams of DPT 9.001 via knxd\n", broker, len(lat))
	fmt.Printf("p50 %v  p90 %v  p99 %v  max %v\n", pct(.5).Round(time.Microsecond), pct(.9).Round(time.Microsecond),
		pct(.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	return nil
}

// value is the i-th value sent: distinct from its neighbours, exact in 9.001.
func value(i int) float64 { return float64(i%2000) / 100 }

// waitOnline sends until the gateway's device passes a value through.
func waitOnline(s knx.GroupTunnel, got <-chan float64) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := send(s, 19.99); err != nil {
			return err
		}
		select {
		case v := <-got:
			if v == 19.99 {
				return nil
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("no value through gridbox within 30s")
}

func measure(s knx.GroupTunnel, got <-chan float64, n int) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	for i := range n {
		v := value(i)
		start := time.Now()
		if err := send(s, v); err != nil {
			return nil, err
		}
		timeout := time.After(5 * time.Second)
		for done := false; !done; {
			select {
			case w := <-got:
				done = w == v
			case <-timeout:
				return nil, fmt.Errorf("telegram %d (%v) did not arrive on MQTT", i, v)
			}
		}
		lat = append(lat, time.Since(start))
	}
	return lat, nil
}

func send(s knx.GroupTunnel, v float64) error {
	ga, _ := cemi.NewGroupAddrString("1/2/3")
	d, _ := gbknx.ParseDPT("9.001")
	data, err := d.Encode(v) // knx-go's DPT_9001 truncates 0.53 to 0.52
	if err != nil {
		return err
	}
	return s.Send(knx.GroupEvent{Command: knx.GroupWrite, Destination: ga, Data: data})
}

func subscribe(broker string, got chan<- float64) (paho.Client, error) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + broker).SetClientID(fmt.Sprintf("knxbench-%d", os.Getpid())))
	if t := c.Connect(); !t.WaitTimeout(5*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("mqtt connect %s: %v", broker, t.Error())
	}
	t := c.Subscribe("knxbench/knx/temp", 0, func(_ paho.Client, m paho.Message) {
		var p struct{ Value float64 }
		if json.Unmarshal(m.Payload(), &p) == nil && !m.Retained() {
			got <- p.Value
		}
	})
	if !t.WaitTimeout(5*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("mqtt subscribe: %v", t.Error())
	}
	return c, nil
}

func startGateway(ctx context.Context, dir, knxAddr, broker string) (*gateway.Gateway, error) {
	yml := fmt.Sprintf(`site: knxbench
http: {listen: "127.0.0.1:0", auth: none}
mqtt: {broker: "mqtt://%s", prefix: knxbench}
store: {path: %q}
devices:
  - {id: knx, driver: knx, url: "udp://%s", read_at_start: false, datapoints: [{name: temp, ga: 1/2/3, dpt: "9.001"}]}
`, broker, filepath.Join(dir, "data"), knxAddr)
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

func startKnxd(dir string, port int) (stop func(), err error) {
	cmd := exec.Command("knxd", "-e", "0.0.1", "-E", "0.0.2:8", "--listen-local="+filepath.Join(dir, "knx.sock"),
		"-T", fmt.Sprintf("--Server=224.0.23.12:%d", port), "--multi-port", "-b", "dummy:")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start knxd: %w", err)
	}
	time.Sleep(500 * time.Millisecond) // the sender's connect retries anyway
	return func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }, nil
}

func freeUDPPort() (int, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}
