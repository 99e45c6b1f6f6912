// Command broker measures gridbox's embedded MQTT broker against Mosquitto
// side by side in one run: 1 → 1 and 1 → 4 at QoS 0 and QoS 1, the same
// paho.golang (MQTT 5) clients for both, messages of 64 bytes, an
// end-to-end window of 1000 messages (published but not yet delivered to
// every subscriber; each subscriber's Receive Maximum is the same). Both
// brokers run in processes of their own — the embedded broker is this
// program with -serve, started through gridbox's broker package exactly as
// the mqtt sink starts it (every hook installed), Mosquitto with a
// generated config with set_tcp_nodelay true — and the clients in this
// one, so the CPU time each broker spends (utime + stime from /proc) is its
// own. Each case runs several rounds, alternating which broker goes first;
// the table holds the medians.
//
//	go run ./bench/broker [-n 100000] [-rounds 5] [-window 1000] [-size 64] [-check]
//
// -cpuprofile FILE writes a CPU profile of the embedded broker's process.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"
)

func main() {
	serveAddr := flag.String("serve", "", "child mode: run the embedded broker on this address until stdin closes")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the embedded broker to this file")
	n := flag.Int("n", 100_000, "messages per round")
	rounds := flag.Int("rounds", 5, "rounds per case and broker (median reported)")
	window := flag.Int("window", 1000, "end-to-end window: messages published but not yet delivered to every subscriber")
	size := flag.Int("size", 64, "payload bytes (at least 8)")
	check := flag.Bool("check", false, "exit 1 unless every ratio is at least 1.0")
	flag.Parse()
	var err error
	if *serveAddr != "" {
		err = serve(*serveAddr, *profile)
	} else {
		err = bench(opts{n: *n, rounds: *rounds, window: *window, size: max(8, *size), profile: *profile, check: *check})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "broker bench:", err)
		os.Exit(1)
	}
}

type opts struct {
	n, rounds, window, size int
	profile                 string
	check                   bool
}

type kase struct {
	subs int
	qos  byte
}

// sample is one round against one broker.
type sample struct {
	rate   float64       // deliveries/s
	cpuMsg time.Duration // broker CPU per delivery
	lost   int64
	disord int64
}

func bench(o opts) error {
	dir, err := os.MkdirTemp("", "bench-broker-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	emb, err := startEmbedded(o.profile)
	if err != nil {
		return err
	}
	defer emb.close()
	mosq, err := startMosquitto(dir)
	if err != nil {
		return err
	}
	defer mosq.close()
	brokers := []*proc{emb, mosq}
	cases := []kase{{1, 0}, {4, 0}, {1, 1}, {4, 1}}
	fmt.Printf("%d messages of %d B per round, %d rounds, end-to-end window %d, paho.golang MQTT 5 clients in this process\n",
		o.n, o.size, o.rounds, o.window)
	fmt.Printf("embedded: gridbox broker package (defaults, all hooks), child pid %d; mosquitto: pid %d, set_tcp_nodelay true\n\n",
		emb.cmd.Process.Pid, mosq.cmd.Process.Pid)
	ctx := context.Background()
	// Warm-up: connections, the child's heap.
	for _, c := range cases {
		for _, b := range brokers {
			if _, err := measure(ctx, b, c, o, max(1000, o.n/10)); err != nil {
				return fmt.Errorf("%s warm-up: %w", b.name, err)
			}
		}
	}
	results := map[kase][2][]sample{}
	for r := range o.rounds {
		for _, c := range cases {
			res := results[c]
			for k := range brokers {
				i := (k + r) % 2 // alternate which broker goes first
				s, err := measure(ctx, brokers[i], c, o, o.n)
				if err != nil {
					return fmt.Errorf("%s %d→%d qos %d: %w", brokers[i].name, 1, c.subs, c.qos, err)
				}
				res[i] = append(res[i], s)
			}
			results[c] = res
		}
		fmt.Fprintf(os.Stderr, "round %d of %d done\n", r+1, o.rounds)
	}
	return report(cases, results, o)
}

func measure(ctx context.Context, b *proc, c kase, o opts, n int) (sample, error) {
	before, err := b.cpu()
	if err != nil {
		return sample{}, err
	}
	out, err := run(ctx, load{addr: b.addr, subs: c.subs, n: n, size: o.size, qos: c.qos, window: o.window}, b.name)
	if err != nil {
		return sample{}, err
	}
	time.Sleep(50 * time.Millisecond) // let the broker finish the disconnects' work
	after, err := b.cpu()
	if err != nil {
		return sample{}, err
	}
	s := sample{rate: out.rate(), lost: int64(n*c.subs) - out.delivered, disord: out.outOfOrder}
	if out.delivered > 0 {
		s.cpuMsg = (after - before) / time.Duration(out.delivered)
	}
	return s, nil
}

func report(cases []kase, results map[kase][2][]sample, o opts) error {
	fmt.Printf("%-6s %3s  %14s %14s %6s  %12s %12s %6s  %s\n", "case", "qos", "embedded/s", "mosquitto/s", "ratio",
		"emb CPU/msg", "mosq CPU/msg", "CPU ×", "ratio per round (min–max)")
	ok := true
	for _, c := range cases {
		res := results[c]
		e, m := median(res[0], func(s sample) float64 { return s.rate }), median(res[1], func(s sample) float64 { return s.rate })
		ec := median(res[0], func(s sample) float64 { return float64(s.cpuMsg) })
		mc := median(res[1], func(s sample) float64 { return float64(s.cpuMsg) })
		var per []float64
		for i := range res[0] {
			per = append(per, res[0][i].rate/res[1][i].rate)
		}
		ratio := e / m
		ok = ok && ratio >= 1.0
		fmt.Printf("1→%-4d %3d  %14.0f %14.0f %6.2f  %10.2fµs %10.2fµs %6.2f  %.2f–%.2f\n", c.subs, c.qos, e, m, ratio,
			ec/1e3, mc/1e3, ec/mc, slices.Min(per), slices.Max(per))
	}
	for _, c := range cases {
		for i, name := range []string{"embedded", "mosquitto"} {
			for _, s := range results[c][i] {
				if s.lost != 0 || (c.qos == 1 && s.disord != 0) {
					fmt.Printf("WARNING: %s 1→%d qos %d: %d deliveries lost, %d out of order in a round\n", name, c.subs, c.qos, s.lost, s.disord)
				}
			}
		}
	}
	fmt.Printf("\nmsgs/s = deliveries per second over all subscribers (first publish to last delivery); CPU/msg = broker process CPU (user+system) per delivery; medians of %d rounds\n", o.rounds)
	if o.check && !ok {
		return fmt.Errorf("a ratio is below 1.0")
	}
	return nil
}

func median(ss []sample, f func(sample) float64) float64 {
	v := make([]float64, len(ss))
	for i, s := range ss {
		v[i] = f(s)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
