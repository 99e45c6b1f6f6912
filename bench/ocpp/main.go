// Command ocpp measures gridbox's OCPP central system under load: n
// simulated charge points (Go WebSocket clients) connect at once, each
// boots, starts a transaction and sends MeterValues every interval; the
// central system runs in a child process (this program with -serve) so its
// CPU and resident memory are measured alone. Then the child writes
// max_current through the bus k times and prints the SetChargingProfile
// round trip (write → charge point's answer) p50/p99.
//
//	go run ./bench/ocpp [-n 1000] [-interval 10s] [-measure 60s] [-k 200]
//
// A shorter -interval compresses time: -interval 1s sends what 10 × the
// charge points would send at 10 s.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	serve := flag.String("serve", "", "run the central system on this address (child mode)")
	n := flag.Int("n", 1000, "charge points")
	interval := flag.Duration("interval", 10*time.Second, "MeterValues interval of each charge point")
	measure := flag.Duration("measure", 60*time.Second, "measuring window once every charge point is up")
	k := flag.Int("k", 200, "max_current writes timed (SetChargingProfile round trips)")
	flag.Parse()
	var err error
	if *serve != "" {
		err = runServer(*serve)
	} else {
		err = run(*n, *interval, *measure, *k)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ocpp bench:", err)
		os.Exit(1)
	}
}

// counters of the simulated charge points.
type counters struct {
	connected, meterSent, meterAnswered, profiles, failed atomic.Int64
}

func run(n int, interval, measure time.Duration, k int) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self, "-serve", addr)
	child.Stderr = os.Stderr
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		return err
	}
	defer child.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		return fmt.Errorf("central system did not start: %q", lines.Text())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var c counters
	var wg sync.WaitGroup
	started := time.Now()
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); chargePoint(ctx, addr, fmt.Sprintf("BENCH-%05d", i), interval, &c) }()
	}
	for c.connected.Load()+c.failed.Load() < int64(n) {
		if time.Since(started) > 5*time.Minute {
			return fmt.Errorf("only %d of %d charge points up after 5 min", c.connected.Load(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("%d charge points connected, booted and in a transaction after %v (%d failed)\n", c.connected.Load(), time.Since(started).Round(time.Millisecond), c.failed.Load())
	fmt.Printf("MeterValues every %v each: %.0f messages/s expected\n", interval, float64(c.connected.Load())/interval.Seconds())
	time.Sleep(interval) // every charge point has sent at least once
	cpu0, _ := cpuTicks(child.Process.Pid)
	sent0, ans0 := c.meterSent.Load(), c.meterAnswered.Load()
	t0 := time.Now()
	var peakRSS int64
	for time.Since(t0) < measure {
		time.Sleep(time.Second)
		peakRSS = max(peakRSS, rssKB(child.Process.Pid))
	}
	cpu1, _ := cpuTicks(child.Process.Pid)
	el := time.Since(t0).Seconds()
	fmt.Printf("over %.0f s: %d MeterValues sent, %d answered (%.0f/s); central system CPU %.1f %% of one core, RSS %d MB (peak)\n",
		el, c.meterSent.Load()-sent0, c.meterAnswered.Load()-ans0, float64(c.meterAnswered.Load()-ans0)/el,
		100*float64(cpu1-cpu0)/clockTicks/el, peakRSS/1024)
	fmt.Fprintf(stdin, "rtt %d %d\n", k, c.connected.Load())
	if !lines.Scan() {
		return fmt.Errorf("no round-trip figures from the central system")
	}
	fmt.Println(strings.TrimSpace(lines.Text()))
	fmt.Printf("charge points answered %d SetChargingProfile\n", c.profiles.Load())
	cancel()
	wg.Wait()
	stdin.Close()
	return child.Wait()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
const clockTicks = 100

// cpuTicks returns utime+stime of a process.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var u, st int64
	fmt.Sscan(fields[11], &u)
	fmt.Sscan(fields[12], &st)
	return u + st, nil
}

// rssKB returns the resident set of a process in KiB.
func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb
		}
	}
	return 0
}
