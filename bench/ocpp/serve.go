package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/gridbox/gridbox/bus"
	"github.com/gridbox/gridbox/ocpp"
)

// runServer is the child: the central system on a bus with one draining
// subscriber (as a sink would be), until stdin closes. A line "rtt k n"
// times k max_current writes over the first n charge points.
func runServer(addr string) error {
	cfg := ocpp.Kind().NewConfig().(*ocpp.Config)
	dir, err := os.MkdirTemp("", "ocpp-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg.DataDir, cfg.AllowUnknown, cfg.Listen = dir, true, addr
	b := bus.New()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	b.SetLogger(log)
	s, err := ocpp.NewServer(cfg, b, ocpp.Options{Log: log})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := b.Subscribe("bench", bus.Options{Size: 1 << 16, States: true, Events: true})
	go drain(ctx, sub)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(cfg.Path+"/", s)
	srv := &http.Server{Handler: mux, BaseContext: func(net.Listener) context.Context { return ctx }}
	go srv.Serve(ln)
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var k, n int
		if _, err := fmt.Sscanf(in.Text(), "rtt %d %d", &k, &n); err == nil {
			fmt.Println(roundTrips(b, k, n))
		}
	}
	cancel()
	srv.Close()
	s.Wait()
	return nil
}

// drain consumes a subscription like a sink.
func drain(ctx context.Context, sub *bus.Subscription) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Values:
		case <-sub.States:
		case <-sub.Events:
		}
	}
}

// roundTrips writes max_current k times, one after another, to connector 1
// of charge points in turn and returns the p50/p99 of the write's duration
// (bus write → SetChargingProfile sent → Accepted read).
func roundTrips(b *bus.Bus, k, n int) string {
	if n == 0 {
		return "no charge points"
	}
	var d []time.Duration
	failed := 0
	for i := range k {
		dev := ocpp.Slug(fmt.Sprintf("BENCH-%05d", i%n)) + "_1"
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t := time.Now()
		_, err := b.Write(ctx, dev, "max_current", float64(6+i%10))
		cancel()
		if err != nil {
			failed++
			continue
		}
		d = append(d, time.Since(t))
	}
	if len(d) == 0 {
		return fmt.Sprintf("SetChargingProfile round trip: all %d writes failed", k)
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	p := func(q float64) time.Duration { return d[int(q*float64(len(d)-1))].Round(10 * time.Microsecond) }
	return fmt.Sprintf("SetChargingProfile round trip over %d writes (%d failed): p50 %v, p99 %v, max %v", len(d), failed, p(0.5), p(0.99), d[len(d)-1].Round(10*time.Microsecond))
}
