package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gridbox/gridbox/broker"
)

// proc is a broker in a process of its own, so its CPU time can be read.
type proc struct {
	name string
	addr string
	cmd  *exec.Cmd
	stop func()
}

// cpu is the process's user + system CPU time so far.
func (p *proc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in ")".
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc stat of %s: %q", p.name, s)
	}
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz, nil
}

func (p *proc) close() { p.stop() }

// startEmbedded runs this program with -serve: gridbox's broker package
// with the options and hooks a gateway uses.
func startEmbedded(profile string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-serve", addr}
	if profile != "" {
		args = append(args, "-cpuprofile", profile)
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { stdin.Close(); _ = cmd.Wait() }
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
		_ = cmd.Process.Kill()
		stop()
		return nil, fmt.Errorf("embedded broker did not start: %q", line)
	}
	return &proc{name: "embedded", addr: addr, cmd: cmd, stop: stop}, nil
}

// serve is the child: the embedded broker as the mqtt sink starts it for
// `broker: embedded` with no further settings (gridbox's defaults: every
// hook — guard, access policies, users/ACL, rate limits — installed, the
// Prometheus collector registered), until stdin closes.
func serve(addr, profile string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := broker.Start(broker.Options{Listen: addr}, log)
	if err != nil {
		return err
	}
	defer b.Close()
	reg := prometheus.NewRegistry()
	if err := reg.Register(b.Collector()); err != nil {
		return err
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// startMosquitto runs a private Mosquitto on a free port: TCP_NODELAY like
// Go's sockets, no limit on queued messages and in-flight messages (the
// embedded broker's queue is 65 536 deep and its in-flight window 65 535;
// the bench's own window keeps both far below).
func startMosquitto(dir string) (*proc, error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
	text := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n"+
		"max_queued_messages 0\nmax_inflight_messages 0\nlog_type error\n", port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mosquitto: %w (install the mosquitto package)", err)
	}
	p := &proc{name: "mosquitto", addr: addr, cmd: cmd, stop: func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }}
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return p, nil
		}
		if i > 100 {
			p.close()
			return nil, fmt.Errorf("mosquitto did not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
