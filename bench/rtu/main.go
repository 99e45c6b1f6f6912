// Command rtu measures gridbox's Modbus RTU polling over a socat pty pair:
// polls per second of several units on one bus against the frame-time
// limit of the same requests at the baud rate (request and response
// frames of 11-bit characters, each preceded by the 3.5-character
// silence), and prints the ratio.
//
// A pty pair carries bytes at no baud rate at all, so the anchor is the
// Go responder (-peer go, the default; this binary with -serve, run as a
// process of its own): it keeps the line busy for the request's and its
// response's time on the wire at the baud rate plus the silence, like a
// device on a real line — the ratio is then what gridbox's own overhead
// leaves of the line. -peer pymodbus
// uses the pymodbus RTU server of driver/modbus/testdata instead, which
// answers as fast as Python and the pty allow (no wire time: its ratio can
// exceed 1). Run from the repository root:
//
//	go run ./bench/rtu [-peer pymodbus|go] [-baud 115200] [-regs 10] [-units 3] [-duration 10s]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/gridbox/gridbox/config"
	"github.com/gridbox/gridbox/driver"
	"github.com/gridbox/gridbox/driver/modbus"
	"github.com/gridbox/gridbox/model"
)

func main() {
	peer := flag.String("peer", "go", "go (wire-timed in-process responder) or pymodbus")
	baud := flag.Int("baud", 115200, "baud rate")
	regs := flag.Int("regs", 10, "holding registers per read (pymodbus peer: at most 10)")
	units := flag.Int("units", 3, "unit ids on the bus, polled back to back")
	dur := flag.Duration("duration", 10*time.Second, "measuring time (after 1 s of warm-up)")
	serve := flag.String("serve", "", "internal: run the go peer on this pty")
	flag.Parse()
	if *serve != "" {
		f, err := os.OpenFile(*serve, os.O_RDWR, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rtu:", err)
			os.Exit(1)
		}
		respond(f, *baud)
		return
	}
	if err := run(*peer, *baud, *regs, *units, *dur); err != nil {
		fmt.Fprintln(os.Stderr, "rtu:", err)
		os.Exit(1)
	}
}

func run(peer string, baud, regs, units int, dur time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "gridbox-rtu-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	a, b := filepath.Join(dir, "gridbox.tty"), filepath.Join(dir, "peer.tty")
	socat := exec.CommandContext(ctx, "socat", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	if err := socat.Start(); err != nil {
		return fmt.Errorf("socat: %w", err)
	}
	defer socat.Wait()
	defer cancel()
	if err := waitFile(a, b); err != nil {
		return err
	}
	if err := startPeer(ctx, peer, b, dir, baud, regs); err != nil {
		return err
	}
	polls, err := pollBus(ctx, "rtu://"+a+fmt.Sprintf("?baud=%d&parity=N&stop_bits=1", baud), regs, units, dur)
	if err != nil {
		return err
	}
	rate := float64(polls) / dur.Seconds()
	limit := frameLimit(baud, regs)
	fmt.Printf("peer %s, %d baud, %d units, %d holding registers per read (FC 3), %s\n", peer, baud, units, regs, dur)
	fmt.Printf("frames per poll: request 8 + response %d bytes, 11 bits each, 3.5-char silence before each frame\n", 5+2*regs)
	fmt.Printf("polls/s: %.1f   frame-time limit: %.1f polls/s   ratio: %.2f\n", rate, limit, rate/limit)
	return nil
}

// frameLimit is the most polls per second the line carries: each poll is
// a request and a response frame, each preceded by t3.5 (3.5 characters,
// fixed at 1.75 ms from 19200 baud up).
func frameLimit(baud, regs int) float64 {
	char := 11 * time.Second / time.Duration(baud)
	perPoll := time.Duration(8+5+2*regs)*char + 2*silence(baud)
	return float64(time.Second) / float64(perPoll)
}

// silence is t3.5: 3.5 characters, 1.75 ms from 19200 baud up.
func silence(baud int) time.Duration {
	if baud >= 19200 {
		return 1750 * time.Microsecond
	}
	return 35 * 11 * time.Second / time.Duration(baud) / 10
}

func waitFile(paths ...string) error {
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range paths {
		for {
			if _, err := os.Stat(p); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not appear", p)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

func startPeer(ctx context.Context, peer, tty, dir string, baud, regs int) error {
	switch peer {
	case "go":
		self, err := os.Executable()
		if err != nil {
			return err
		}
		// a process of its own, like a device: the responder does not share
		// the Go runtime of the gridbox side
		resp := exec.CommandContext(ctx, self, "-serve", tty, "-baud", fmt.Sprint(baud))
		resp.Stderr = os.Stderr
		if err := resp.Start(); err != nil {
			return fmt.Errorf("responder: %w", err)
		}
		go resp.Wait()
		return nil
	case "pymodbus":
		if regs > 10 {
			return fmt.Errorf("the pymodbus peer holds 10 registers, not %d", regs)
		}
		py := exec.CommandContext(ctx, "/usr/bin/python3", "driver/modbus/testdata/rtupeer.py",
			"--serial", tty, "--baud", fmt.Sprint(baud), "--dir", dir)
		py.Stderr = os.Stderr
		if err := py.Start(); err != nil {
			return fmt.Errorf("pymodbus peer: %w", err)
		}
		go py.Wait()
		return waitFile(filepath.Join(dir, "ready"))
	}
	return fmt.Errorf("unknown peer %q (want pymodbus or go)", peer)
}

// pollBus runs units devices on one bus with a 1 ms interval (so that each
// polls again as soon as it had its turn) and counts polls after warm-up.
func pollBus(ctx context.Context, url string, regs, units int, dur time.Duration) (uint64, error) {
	drv := modbus.New()
	defer drv.Close()
	var polls, fails atomic.Uint64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{}, units)
	for u := 1; u <= units; u++ {
		c := modbus.NewConfig()
		unit := u
		c.ID, c.Driver, c.URL, c.Unit = fmt.Sprintf("u%d", u), "modbus", url, &unit
		c.Interval, c.Timeout = config.Duration(time.Millisecond), config.Duration(500*time.Millisecond)
		c.Registers = []modbus.Register{{Name: "r", Address: 0, Type: "uint16"}}
		if regs > 1 {
			c.Registers = append(c.Registers, modbus.Register{Name: "last", Address: uint16(regs - 1), Type: "uint16"})
		}
		if errs := c.Validate(); len(errs) > 0 {
			return 0, config.Errors(errs)
		}
		dev, err := drv.Factory().New(c, driver.Env{Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			return 0, err
		}
		go func() { dev.Run(ctx, counter{&polls, &fails}); done <- struct{}{} }()
	}
	time.Sleep(time.Second)
	start, failed := polls.Load(), fails.Load()
	time.Sleep(dur)
	n := polls.Load() - start
	if f := fails.Load() - failed; f > 0 {
		fmt.Printf("failed polls: %d\n", f)
	}
	cancel()
	for range units {
		<-done
	}
	return n, nil
}

// counter is a driver.Sink that counts successful and failed polls.
type counter struct{ ok, fail *atomic.Uint64 }

func (c counter) Publish(...model.Value)  {}
func (c counter) MarkStale(string, int64) {}
func (c counter) SetState(st model.DeviceState, _, _ uint64) {
	if st.Online {
		c.ok.Add(1)
	} else {
		if c.fail.Add(1) <= 3 {
			fmt.Println("poll failed:", st.Error)
		}
	}
}
