// Command soak runs a time-compressed day of a gridbox site: a gateway
// built from this tree (a separate `gridbox run` process) polls many
// simulated Modbus TCP devices fast, stores every value in its embedded
// SQLite store and publishes it to an external Mosquitto that is bounced
// during the run, while one device flaps every minute. It samples the
// gateway's memory, goroutines, threads and file descriptors at the start,
// periodically and at the end, then stops everything and accounts for
// every value: produced (accepted by the bus), stored (rows in the SQLite
// file), delivered over MQTT (matched one by one), dropped (by metric).
//
//	go run ./bench/soak [-duration 15m] [-devices 100] [-interval 100ms]
//	go run ./bench/soak -duration 60s -devices 20 -outage 10s   # short mode
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	duration, interval, outage, flap, settle, every time.Duration
	devices, bounces, buffer, qos                   int
	bin, dir, signal                                string
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 15*time.Minute, "measured run, from the start sample to the end sample")
	flag.IntVar(&o.devices, "devices", 100, "simulated Modbus TCP devices")
	flag.DurationVar(&o.interval, "interval", 100*time.Millisecond, "poll interval of every device (a typical site polls every 10s)")
	flag.IntVar(&o.bounces, "bounces", 2, "broker bounces during the measured run (one more happens in the warm-up)")
	flag.DurationVar(&o.outage, "outage", 25*time.Second, "how long the broker stays down per bounce")
	flag.StringVar(&o.signal, "signal", "term", "how the broker is stopped: term (orderly restart, which saves the subscriber's session) or kill (a crash: Mosquitto then loses what it held for the subscriber too, which shows as MQTT loss)")
	flag.DurationVar(&o.flap, "flap", time.Minute, "flap period of device d000: down half of it, up the other half")
	flag.DurationVar(&o.settle, "settle", 20*time.Second, "warm-up before the boot sample and after each disturbance")
	flag.DurationVar(&o.every, "sample", time.Minute, "period of the intermediate samples")
	flag.IntVar(&o.buffer, "mqtt-buffer", 500000, "mqtt.buffer of the gateway: values kept while the broker is down")
	flag.IntVar(&o.qos, "qos", 0, "mqtt.qos of the gateway's value messages")
	flag.StringVar(&o.bin, "gridbox", "", "gridbox binary to test (default: go build ./cmd/gridbox)")
	flag.StringVar(&o.dir, "dir", "", "work directory kept after the run (default: a temporary one, removed)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// soak is one run's moving parts.
type soak struct {
	o      options
	log    *slog.Logger
	dir    string
	fleet  *fleet
	broker *broker
	sub    *subscriber
	gw     *gateway
	began  time.Time
	events *timeline
	sig    syscall.Signal
}

func run(o options) error {
	s := &soak{o: o, log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), events: &timeline{}}
	switch o.signal {
	case "term":
		s.sig = syscall.SIGTERM
	case "kill":
		s.sig = syscall.SIGKILL
	default:
		return fmt.Errorf("-signal %q: want term or kill", o.signal)
	}
	if err := s.setup(); err != nil {
		s.teardown()
		return err
	}
	defer s.teardown()
	rep, err := s.measure()
	if err != nil {
		return err
	}
	if err := s.account(rep); err != nil {
		return err
	}
	fmt.Print(rep.String())
	if !rep.pass() {
		os.Exit(3)
	}
	return nil
}

// setup starts the broker, the subscriber, the simulators and the gateway.
func (s *soak) setup() error {
	s.dir = s.o.dir
	if s.dir == "" {
		d, err := os.MkdirTemp("", "gridbox-soak-")
		if err != nil {
			return err
		}
		s.dir = d
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	bin := s.o.bin
	if bin == "" {
		var err error
		if bin, err = buildGateway(s.dir); err != nil {
			return err
		}
	}
	var err error
	if s.broker, err = newBroker(s.dir); err != nil {
		return err
	}
	if err = s.broker.start(); err != nil {
		return err
	}
	if s.sub, err = newSubscriber(s.broker.addr(), "gridbox"); err != nil {
		return err
	}
	if s.fleet, err = startFleet(context.Background(), s.o.devices, s.log); err != nil {
		return err
	}
	cfg := func(httpAddr string) string {
		return soakConfig(s.fleet.devs, httpAddr, s.broker.url(), s.dir+"/data", s.o.interval, s.o.buffer, s.o.qos)
	}
	s.began = time.Now()
	if s.gw, err = startGateway(bin, s.dir, cfg); err != nil {
		return err
	}
	progress("gateway pid %d, /metrics on %s, broker %s, work dir %s", s.gw.cmd.Process.Pid, s.gw.httpAddr, s.broker.addr(), s.dir)
	return nil
}

// teardown stops whatever still runs; the work directory goes unless -dir.
func (s *soak) teardown() {
	if s.gw != nil {
		select {
		case <-s.gw.exited:
		default:
			_ = s.gw.cmd.Process.Kill()
			<-s.gw.exited
		}
	}
	if s.fleet != nil {
		s.fleet.close()
	}
	if s.sub != nil {
		s.sub.close()
	}
	if s.broker != nil {
		_ = s.broker.stop(syscall.SIGTERM)
	}
	if s.o.dir == "" && s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// measure runs the warm-up and the measured phase and returns the report
// with its samples and events.
func (s *soak) measure() (*report, error) {
	rep := &report{o: s.o, events: s.events}
	snap := func(label string) error {
		smp, err := takeSample(s.gw, s.sub, label, s.began, 5)
		if err != nil {
			return fmt.Errorf("sample %s: %w", label, err)
		}
		rep.samples = append(rep.samples, smp)
		progress("%s", smp.row())
		return nil
	}
	if err := s.waitOnline(s.o.devices, 2*time.Minute); err != nil {
		return nil, err
	}
	time.Sleep(s.o.settle)
	if err := snap("boot"); err != nil {
		return nil, err
	}
	// Warm-up bounce: the offline buffer (mqtt.buffer) is filled once, so
	// its memory is resident before the start sample.
	if err := s.bounce(); err != nil {
		return nil, err
	}
	time.Sleep(s.o.settle)
	if err := snap("start"); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	flapDone := make(chan int, 1)
	s.events.add(fmt.Sprintf("flap: %s starts flapping (%s down / %s up)", s.fleet.devs[0].id, s.o.flap/2, s.o.flap/2))
	go func() { flapDone <- s.fleet.flap(ctx, 0, s.o.flap, s.events) }()
	err := s.timeline(snap)
	cancel()
	rep.flaps = <-flapDone
	if err != nil {
		return nil, err
	}
	if err := s.waitOnline(s.o.devices, time.Minute); err != nil {
		return nil, err
	}
	time.Sleep(s.o.settle)
	if err := snap("end"); err != nil {
		return nil, err
	}
	return rep, nil
}

// timeline runs the measured phase: bounces spread evenly over it, a
// sample every o.every and one half-way.
func (s *soak) timeline(snap func(string) error) error {
	t0 := time.Now()
	type step struct {
		at   time.Duration
		name string
	}
	var steps []step
	for i := 1; i <= s.o.bounces; i++ {
		steps = append(steps, step{s.o.duration * time.Duration(i) / time.Duration(s.o.bounces+1), "bounce"})
	}
	for at := s.o.every; at < s.o.duration; at += s.o.every {
		steps = append(steps, step{at, "sample"})
	}
	steps = append(steps, step{s.o.duration / 2, "mid"}, step{s.o.duration, "stop"})
	slices.SortStableFunc(steps, func(a, b step) int { return cmp.Compare(a.at, b.at) })
	for _, st := range steps {
		if d := time.Until(t0.Add(st.at)); d > 0 {
			time.Sleep(d)
		}
		var err error
		switch st.name {
		case "bounce":
			err = s.bounce()
		case "sample":
			err = snap("t+" + st.at.Round(time.Second).String())
		case "mid":
			err = snap("mid")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// bounce stops the broker, keeps it down for o.outage and starts it again
// on the same port.
func (s *soak) bounce() error {
	s.events.add(fmt.Sprintf("broker down (SIG%s)", strings.ToUpper(s.o.signal)))
	from := time.Now()
	if err := s.broker.stop(s.sig); err != nil {
		return err
	}
	time.Sleep(s.o.outage)
	if err := s.broker.start(); err != nil {
		return err
	}
	s.events.add("broker up")
	s.events.outage(from, time.Now())
	return nil
}

// waitOnline waits until n devices are online.
func (s *soak) waitOnline(n int, within time.Duration) error {
	end := time.Now().Add(within)
	for {
		m, err := s.gw.metrics()
		if err == nil && int(sum(m, "gridbox_device_online")) >= n {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("not all %d devices online within %s (last scrape error: %v)", n, within, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
}
